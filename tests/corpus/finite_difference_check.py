# source: after github.com/YongqinJian/Cmput-328 (autograd gradient checked against central differences)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def f(x):
    return (x.sin() * x ** 2).sum()

x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
f(x).backward()
analytic = x.grad.clone()

h = 1e-6
numeric = torch.zeros_like(x)
with torch.no_grad():
    for i in range(x.numel()):
        old = x[i].item()
        x[i] = old + h
        fplus = f(x).item()
        x[i] = old - h
        fminus = f(x).item()
        x[i] = old
        numeric[i] = (fplus - fminus) / (2 * h)

rel_error = (analytic - numeric).abs().max() / analytic.abs().max()
print("relative error:", rel_error.item() < 1e-6)
