# source: after d2l-ai/d2l-en chapter_multilayer-perceptrons/mlp.md (pytorch tab: derivatives of sigmoid and tanh by autograd)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.linspace(-4, 4, 9, requires_grad=True)
s = torch.sigmoid(x)
s.sum().backward()
print(torch.allclose(x.grad, s * (1 - s)))

x.grad.zero_()
t = torch.tanh(x)
t.sum().backward()
print(torch.allclose(x.grad, 1 - t ** 2))
print(x.grad.max())
