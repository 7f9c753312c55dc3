# source: after pytorch/pytorch torch/autograd/__init__.py (torch.autograd.grad docs)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.autograd import grad

a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(-1.0, requires_grad=True)
out = a ** 2 * b + torch.exp(b)

ga, gb = grad(out, (a, b), retain_graph=True)
print("d out / d a =", ga)
print("d out / d b =", gb)

gb_only = grad(out, b)[0]
print(gb_only)
