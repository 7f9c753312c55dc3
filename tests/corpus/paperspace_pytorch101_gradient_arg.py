# source: after blog.paperspace.com/pytorch-101-understanding-graphs-and-automatic-differentiation/ (backward with a gradient argument)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

a = torch.ones(3, requires_grad=True)
d = a ** 2 + 3 * a
d.backward(torch.ones(d.size()))
print(a.grad)

a.grad.zero_()
d = a ** 2 + 3 * a
d.backward(torch.tensor([1.0, 0.5, 0.0]))
print(a.grad)
