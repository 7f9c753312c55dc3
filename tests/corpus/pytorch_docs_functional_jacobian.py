# source: after pytorch/pytorch torch/autograd/functional.py (jacobian docstring)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.autograd.functional import jacobian

def exp_adder(x, y):
    return 2 * x.exp() + 3 * y

inputs = (torch.rand(3), torch.rand(3))
jac_x, jac_y = jacobian(exp_adder, inputs)
print(jac_x)
print(jac_y)

def sum_of_exp(x):
    return x.exp().sum(dim=1)

torch.autograd.functional.jacobian(sum_of_exp, torch.rand(2, 2))
