# source: after d2l-ai/d2l-en chapter_optimization/gd.md (pytorch tab)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def f(x):
    return x ** 2

def f_grad(x):
    return 2 * x

def gd(eta, f_grad):
    x = 5.0
    results = [x]
    for i in range(8):
        x -= eta * f_grad(x)
        results.append(float(x))
    print(f'epoch 8, x: {x:f}')
    return results

results = gd(0.3, f_grad)
print(len(results))
