# source: after karpathy/micrograd test/test_engine.py (torch side of test_sanity_check)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.Tensor([-3.0]).double()
x.requires_grad = True
z = 3 * x + 1 + x
q = z.relu() + z * x
h = (z * z).relu()
y = h + q + q * x
y.backward()
xpt, ypt = x, y

print(ypt.data.item())
print(xpt.grad.item())
