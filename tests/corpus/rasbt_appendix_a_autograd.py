# source: after rasbt/LLMs-from-scratch appendix-A/01_main-chapter-code/code-part1.ipynb (A.3-A.4 autograd)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn.functional as F
from torch.autograd import grad

y = torch.tensor([0.0])
x1 = torch.tensor([0.7])
w1 = torch.tensor([1.5], requires_grad=True)
b = torch.tensor([0.2], requires_grad=True)

z = x1 * w1 + b
a = torch.sigmoid(z)

loss = F.binary_cross_entropy(a, y)

grad_L_w1 = grad(loss, w1, retain_graph=True)
grad_L_b = grad(loss, b, retain_graph=True)

print(grad_L_w1)
print(grad_L_b)

loss.backward()

print(w1.grad)
print(b.grad)
