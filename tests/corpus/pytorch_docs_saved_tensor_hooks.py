# source: after pytorch/pytorch docs/source/notes/autograd.rst (saved tensors hooks)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def pack_hook(x):
    print("Packing", x)
    return x

def unpack_hook(x):
    print("Unpacking", x)
    return x

a = torch.ones(3, requires_grad=True)
b = torch.ones(3, requires_grad=True) * 2
with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    y = a * b

y.sum().backward()
print(a.grad)
