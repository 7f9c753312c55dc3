# source: after pytorch/tutorials intermediate_source/jacobians_hessians.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn.functional as F
from functools import partial
from torch.func import jacrev, vjp

torch.manual_seed(0)

def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()

D = 8
weight = torch.randn(D, D)
bias = torch.randn(D)
x = torch.randn(D)

jacobian = jacrev(predict, argnums=2)(weight, bias, x)

_, vjp_fn = vjp(partial(predict, weight, bias), x)
unit_vectors = torch.eye(D)
rows = [vjp_fn(vec)[0] for vec in unit_vectors.unbind()]
jacobian_rows = torch.stack(rows)

assert torch.allclose(jacobian, jacobian_rows)
print(jacobian.shape)
