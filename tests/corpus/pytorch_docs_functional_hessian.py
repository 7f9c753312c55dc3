# source: after pytorch/pytorch torch/autograd/functional.py (hessian docstring)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.autograd.functional import hessian

def cube_reducer(x):
    return x.pow(3).sum()

inputs = torch.rand(2, 2)
h = hessian(cube_reducer, inputs)
print(h.shape)
print(torch.allclose(h.reshape(4, 4), torch.diag(6 * inputs.reshape(-1))))

def mixed(x, y):
    return (2 * x * y).sum()

hessian(mixed, (torch.rand(2), torch.rand(2)))
