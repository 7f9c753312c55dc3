# source: after phlippe/uvadlc_notebooks docs/tutorial_notebooks/tutorial2/Introduction_to_PyTorch.ipynb (dynamic computation graph)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.ones((3,))
print(x.requires_grad)

x.requires_grad_(True)
print(x.requires_grad)

x = torch.arange(4, dtype=torch.float32, requires_grad=True)
print("X", x)

a = x * 3
b = a ** 2
c = b - 1
y = c.mean()
print("Y", y)

y.backward()
print(x.grad)
