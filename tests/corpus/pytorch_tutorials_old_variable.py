# source: after pytorch/tutorials beginner_source/former_torchies/autograd_tutorial_old.py (Variable era)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch.autograd import Variable

x = Variable(torch.ones(2, 2), requires_grad=True)
print(x)

y = x + 3
print(y)
print(y.grad_fn)

z = y * y * 2
out = z.mean()
print(z, out)

out.backward()
print(x.grad)
print(x.data)
