# source: after blog.paperspace.com/pytorch-101-understanding-graphs-and-automatic-differentiation/
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

a = torch.randn((3, 3), requires_grad=True)

w1 = torch.randn((3, 3), requires_grad=True)
w2 = torch.randn((3, 3), requires_grad=True)
w3 = torch.randn((3, 3), requires_grad=True)
w4 = torch.randn((3, 3), requires_grad=True)

b = w1 * a
c = w2 * a

d = w3 * b + w4 * c

L = (10 - d).sum()

L.backward()

learning_rate = 0.5
w1 = w1 - learning_rate * w1.grad
print(w1.is_leaf, w1.requires_grad)
print(a.grad)
