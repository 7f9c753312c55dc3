# source: after d2l-ai/d2l-en chapter_preliminaries/autograd.md (gradients and Python control flow)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def f(a):
    b = a * 3
    while b.norm() < 500:
        b = b * 3
    if b.sum() > 0:
        c = b
    else:
        c = 50 * b
    return c

a = torch.randn(size=(), requires_grad=True)
d = f(a)
d.backward()

a.grad == d / a
