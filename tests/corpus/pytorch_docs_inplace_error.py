# source: after pytorch/pytorch docs/source/notes/autograd.rst (in-place correctness checks)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = a.sigmoid()
c = b * 2
b.mul_(2)

try:
    c.sum().backward()
    print("no error")
except RuntimeError as err:
    print("backward failed:", str(err)[:60])

leaf = torch.zeros(2, requires_grad=True)
try:
    leaf.add_(1)
except RuntimeError as err:
    print("in-place on a leaf:", str(err)[:50])
