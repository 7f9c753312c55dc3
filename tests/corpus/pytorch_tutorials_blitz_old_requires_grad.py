# source: after pytorch/tutorials beginner_source/blitz/autograd_tutorial.py (2019 version: requires_grad_)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

a = torch.randn(2, 2)
a = ((a * 3) / (a - 1))
print(a.requires_grad)
a.requires_grad_(True)
print(a.requires_grad)
b = (a * a).sum()
print(b.grad_fn)

print(a.requires_grad)
b = a.detach()
print(b.requires_grad)
print(a.eq(b).all())
