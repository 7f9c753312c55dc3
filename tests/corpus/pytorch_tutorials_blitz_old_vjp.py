# source: after pytorch/tutorials beginner_source/blitz/autograd_tutorial.py (2019 version: vector-Jacobian product)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.randn(3, requires_grad=True)

y = x * 2
while y.data.norm() < 1000:
    y = y * 2

print(y)

v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(v)

print(x.grad)

print(x.requires_grad)
print((x ** 2).requires_grad)

with torch.no_grad():
    print((x ** 2).requires_grad)
