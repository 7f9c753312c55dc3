# source: after pytorch/pytorch torch/autograd/__init__.py (torch.autograd.grad docs)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x ** 3).sum()

dy_dx, = torch.autograd.grad(y, x, create_graph=True)
print(dy_dx)

d2y_dx2, = torch.autograd.grad(dy_dx.sum(), x)
print(d2y_dx2)
print(x.grad)
