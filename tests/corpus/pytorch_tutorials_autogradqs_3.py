# source: after pytorch/tutorials beginner_source/basics/autogradqs_tutorial.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

inp = torch.eye(3, 4, requires_grad=True)
out = (inp * 2 - 1).pow(3).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"After one backward\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nAfter a second backward\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nAfter zeroing the gradient\n{inp.grad}")
