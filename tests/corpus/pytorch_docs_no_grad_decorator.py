# source: after pytorch/pytorch torch/autograd/grad_mode.py (no_grad docstring)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor([1.5], requires_grad=True)

@torch.no_grad()
def doubler(x):
    return x * 2

z = doubler(x)
print(z.requires_grad)

@torch.enable_grad()
def tripler(x):
    return x * 3

with torch.no_grad():
    z = tripler(x)
z.requires_grad
