# source: after karpathy/micrograd test/test_engine.py (torch side of test_more_ops)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

a = torch.Tensor([-2.0]).double()
b = torch.Tensor([3.0]).double()
a.requires_grad = True
b.requires_grad = True
c = a + b
d = a * b + b**2
c = c + c + 1
c = c + 1 + c + (-a)
d = d + d * 2 + (b + a).relu()
d = d + 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g = g + 10.0 / f
g.backward()
apt, bpt, gpt = a, b, g

tol = 1e-6
print(abs(gpt.data.item()) > tol)
print(apt.grad.item(), bpt.grad.item())
