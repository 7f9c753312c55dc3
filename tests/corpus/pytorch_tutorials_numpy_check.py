# source: after pytorch/tutorials beginner_source/examples_tensor/polynomial_numpy.py (numpy warm-up, checked against autograd)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import numpy as np
import torch

x = np.linspace(-1, 1, 50)
y = np.exp(x)
a, b = 0.5, -0.3
y_pred = a + b * x
grad_y_pred = 2.0 * (y_pred - y)
grad_a = grad_y_pred.sum()
grad_b = (grad_y_pred * x).sum()

at = torch.tensor(a, dtype=torch.float64, requires_grad=True)
bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
xt = torch.from_numpy(x)
loss = ((at + bt * xt - torch.from_numpy(y)) ** 2).sum()
loss.backward()
print(np.allclose(at.grad.numpy(), grad_a), np.allclose(bt.grad.numpy(), grad_b))
