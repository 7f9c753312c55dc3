# source: after pytorch/pytorch docs/source/notes/autograd.rst (retain_grad, leaf tensors)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

a = torch.tensor([2.0, 3.0], requires_grad=True)
b = a * a
b.retain_grad()
c = b.sum()
c.backward()

print(a.is_leaf, b.is_leaf, c.is_leaf)
print(a.grad)
print(b.grad)
print(c.grad)
