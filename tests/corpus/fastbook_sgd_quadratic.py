# source: after fastai/fastbook 04_mnist_basics.ipynb (an end-to-end SGD example)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

time = torch.arange(0, 15).float()
speed = torch.randn(15) * 2 + 0.5 * (time - 7) ** 2 + 3

def f(t, params):
    a, b, c = params
    return a * (t ** 2) + (b * t) + c

def mse(preds, targets): return ((preds - targets) ** 2).mean()

params = torch.randn(3).requires_grad_()
orig_params = params.clone()
lr = 1e-5

def apply_step(params, prn=True):
    preds = f(time, params)
    loss = mse(preds, speed)
    loss.backward()
    params.data -= lr * params.grad.data
    params.grad = None
    if prn: print(loss.item())
    return preds

for i in range(8): apply_step(params)
params
