# source: after github.com/ionahu08/DeepLearningPyTorch (copy of IBM's Coursera lab 'Differentiation in PyTorch', Deep Neural Networks with PyTorch)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor(3.0, requires_grad=True)
print("The tensor x: ", x)

y = x ** 2
print("The result of y = x^2: ", y)

y.backward()
print("The derivative at x = 3: ", x.grad)

print('data:', x.data)
print('grad_fn:', x.grad_fn)
print('grad:', x.grad)
print("is_leaf:", x.is_leaf)
print("requires_grad:", x.requires_grad)

x = torch.tensor(2.0, requires_grad=True)
y = x ** 2 + 2 * x + 1
print("The result of y = x^2 + 2x + 1: ", y)
y.backward()
print("The derivative at x = 2: ", x.grad)
