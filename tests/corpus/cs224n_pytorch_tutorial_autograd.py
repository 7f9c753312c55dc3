# source: after Stanford CS224n PyTorch tutorial (web.stanford.edu/class/cs224n, autograd section)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor([3.], requires_grad=True)
print(x.grad)

y = x * x * 2
y.backward()
print(x.grad)

z = x * x * 2
z.backward()
print(x.grad)
