# source: after pytorch/pytorch torch/_functorch/apis.py (torch.func.grad docstring)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.func import grad

x = torch.tensor(0.5)
cos_x = grad(lambda x: torch.sin(x))(x)
assert torch.allclose(cos_x, x.cos())

neg_sin_x = grad(grad(lambda x: torch.sin(x)))(x)
assert torch.allclose(neg_sin_x, -x.sin())

def loss_with_aux(x, y):
    out = (x * y).sum()
    return out, out.detach() + 1

g, aux = grad(loss_with_aux, has_aux=True)(torch.ones(3), torch.arange(3.0))
print(g, aux)
