# source: after pytorch/tutorials beginner_source/blitz/autograd_tutorial.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

u = torch.rand(4, 4)
v = torch.rand(4, 4)
t = torch.rand((4, 4), requires_grad=True)

s = u + v
print(f"Does `s` require gradients?: {s.requires_grad}")
r = u + t
print(f"Does `r` require gradients?: {r.requires_grad}")
