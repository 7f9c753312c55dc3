# source: after pytorch/pytorch docs/source/notes/autograd.rst (locally disabling gradient computation)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor([1.0], requires_grad=True)

with torch.no_grad():
    y = x * 2
print(y.requires_grad)

is_train = False
with torch.set_grad_enabled(is_train):
    y = x * 2
print(y.requires_grad)

torch.set_grad_enabled(True)
y = x * 2
print(y.requires_grad)

torch.set_grad_enabled(False)
y = x * 2
print(y.requires_grad)
torch.set_grad_enabled(True)

with torch.inference_mode():
    z = x * 3
print(z.requires_grad, z.is_inference())
