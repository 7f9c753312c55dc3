# source: after fastai/fastbook 04_mnist_basics.ipynb (calculating gradients, vector argument)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import tensor

xt = tensor([2., 5., -1.]).requires_grad_()
xt

def f(x): return (x**2).sum()

yt = f(xt)
yt

yt.backward()
xt.grad
