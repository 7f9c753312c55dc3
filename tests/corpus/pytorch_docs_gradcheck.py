# source: after pytorch/pytorch torch/autograd/gradcheck.py (gradcheck docs)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.autograd import gradcheck

def f(x, y):
    return (x * y).exp().sum()

inputs = (torch.randn(3, dtype=torch.double, requires_grad=True),
          torch.randn(3, dtype=torch.double, requires_grad=True))
test = gradcheck(f, inputs, eps=1e-6, atol=1e-4)
print(test)
