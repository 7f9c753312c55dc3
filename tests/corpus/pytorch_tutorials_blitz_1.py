# source: after pytorch/tutorials beginner_source/blitz/autograd_tutorial.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

p = torch.tensor([1., 4.], requires_grad=True)
q = torch.tensor([5., 2.], requires_grad=True)

R = 2 * p**3 - q**2

upstream = torch.tensor([1., 1.])
R.backward(gradient=upstream)

print(6 * p**2 == p.grad)
print(-2 * q == q.grad)
