# source: after pytorch/pytorch torch/autograd/functional.py (vjp, jvp, hvp docstrings)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.autograd.functional import vjp, jvp, hvp

def doubler(x):
    return 2 * x

def square_sum(x):
    return x.pow(2).sum()

x = torch.ones(3)
v = torch.tensor([1.0, 0.5, 0.25])

out, vjp_result = vjp(doubler, x, v)
print(out, vjp_result)

out, jvp_result = jvp(doubler, x, v)
print(jvp_result)

value, hvp_result = hvp(square_sum, x, v)
print(value, hvp_result)
