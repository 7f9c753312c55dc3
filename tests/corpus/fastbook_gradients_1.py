# source: after fastai/fastbook 04_mnist_basics.ipynb (calculating gradients)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import tensor

def f(x): return x**2

xt = tensor(4.).requires_grad_()
yt = f(xt)
yt

yt.backward()
xt.grad
