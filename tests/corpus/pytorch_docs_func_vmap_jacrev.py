# source: after pytorch/pytorch torch/_functorch/apis.py (vmap docstring) and torch/_functorch/eager_transforms.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.func import jacrev, jacfwd, vmap

x = torch.linspace(0.0, 1.0, 4)
jacobian = jacrev(torch.sin)(x)
expected = torch.diag(torch.cos(x))
assert torch.allclose(jacobian, expected)

batch = torch.stack([x, 2 * x])
per_row = vmap(jacrev(torch.sin))(batch)
print(per_row.shape)

def f(x):
    return x.sin().sum()

hess = jacfwd(jacrev(f))(x)
print(torch.allclose(hess, torch.diag(-x.sin())))
