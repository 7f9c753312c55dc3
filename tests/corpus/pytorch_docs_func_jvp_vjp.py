# source: after pytorch/pytorch torch/_functorch/eager_transforms.py (jvp and vjp docstrings)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.func import jvp, vjp

x = torch.tensor([0.1, 0.2, 0.3])
output, jvp_out = jvp(torch.sin, (x,), (torch.ones(3),))
assert torch.allclose(jvp_out, x.cos())
print(output, jvp_out)

def f(x, y):
    return x * y

primal, vjp_fn = vjp(f, torch.ones(2), torch.full((2,), 4.0))
grad_x, grad_y = vjp_fn(torch.ones(2))
print(grad_x, grad_y)
