# source: after karpathy/micrograd test/test_engine.py (torch.Tensor([...]).double(), requires_grad set as an attribute)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.Tensor([2.0, 3.0]).double()
x.requires_grad = True
y = torch.Tensor([[1.0, 0.5], [0.0, 2.0]]).double()
z = (y @ x).pow(2).sum()
z.backward()
print(x.grad)
print(x.dtype, z.dtype)
