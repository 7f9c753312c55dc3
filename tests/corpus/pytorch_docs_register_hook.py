# source: after pytorch/pytorch torch/_tensor.py (register_hook docstring)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

v = torch.tensor([1., 1., 1.], requires_grad=True)
h = v.register_hook(lambda grad: grad * 3)
v.backward(torch.tensor([1., 2., 3.]))
print(v.grad)
h.remove()

w = torch.tensor([0., 0.], requires_grad=True)
y = w * 2
y.register_hook(lambda g: print("gradient reaching y:", g))
y.sum().backward()
w.grad
