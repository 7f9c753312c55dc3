# source: after github.com/ionahu08/DeepLearningPyTorch (copy of IBM's Coursera lab 'Differentiation in PyTorch', Deep Neural Networks with PyTorch)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

u = torch.tensor(1.0, requires_grad=True)
v = torch.tensor(2.0, requires_grad=True)
f = u * v + u ** 2
print("The result of v * u + u^2: ", f)

f.backward()
print("The partial derivative with respect to u: ", u.grad)
print("The partial derivative with respect to v: ", v.grad)

x = torch.linspace(-10, 10, 10, requires_grad=True)
Y = x ** 2
y = torch.sum(x ** 2)
y.backward()
print(x.grad)

x = torch.linspace(-10, 10, 1000, requires_grad=True)
Y = torch.relu(x)
y = Y.sum()
y.backward()
print(x.grad[::200])
