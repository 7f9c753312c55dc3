# source: after pytorch/pytorch torch/nn/modules/module.py (register_full_backward_hook docs)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn as nn

layer = nn.Linear(3, 2)

def report(module, grad_input, grad_output):
    print("grad_output shape:", grad_output[0].shape)

handle = layer.register_full_backward_hook(report)
x = torch.randn(4, 3, requires_grad=True)
layer(x).sum().backward()
handle.remove()
print(x.grad.shape)
