# source: after d2l-ai/d2l-en chapter_preliminaries/autograd.md (detaching computation)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.arange(4.0, requires_grad=True)
y = x * x
u = y.detach()
z = u * x

z.sum().backward()
print(x.grad == u)

x.grad.zero_()
y.sum().backward()
x.grad == 2 * x
