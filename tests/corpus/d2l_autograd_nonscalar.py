# source: after d2l-ai/d2l-en chapter_preliminaries/autograd.md (backward for non-scalar variables)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.arange(4.0, requires_grad=True)
y = x * x + x
y.backward(gradient=torch.ones(len(y)))
x.grad
