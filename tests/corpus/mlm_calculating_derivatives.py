# source: after machinelearningmastery.com/calculating-derivatives-in-pytorch/
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor(2.0, requires_grad=True)
print("creating a tensor x: ", x)

y = 4 * x ** 3
print("result of the equation is: ", y)
y.backward()
print("Dervative of the equation at x = 2 is: ", x.grad)

print('data attribute of the tensor:', x.data)
print('grad attribute of the tensor::', x.grad)
print('grad_fn attribute of the tensor::', x.grad_fn)
print("is_leaf attribute of the tensor::", x.is_leaf)
print("requires_grad attribute of the tensor::", x.requires_grad)

print('data attribute of y:', y.data)
print('grad_fn attribute of y:', y.grad_fn)
print("is_leaf attribute of y:", y.is_leaf)
print("requires_grad attribute of y:", y.requires_grad)
