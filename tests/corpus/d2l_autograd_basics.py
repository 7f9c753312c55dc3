# source: after d2l-ai/d2l-en chapter_preliminaries/autograd.md (pytorch tab)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.arange(3.0)
x

x.requires_grad_(True)
x.grad

y = 3 * torch.dot(x, x)
y

y.backward()
x.grad

x.grad == 6 * x

x.grad.zero_()
y = x.sum()
y.backward()
x.grad
