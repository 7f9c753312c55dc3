# source: after pytorch/tutorials beginner_source/examples_autograd/polynomial_autograd.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import math

dtype = torch.float
device = "cpu"

x = torch.linspace(-1, 1, 500, device=device, dtype=dtype)
y = torch.exp(x)

a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
c = torch.randn((), device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-3
for step in range(150):
    y_pred = a + b * x + c * x ** 2

    loss = (y_pred - y).pow(2).sum()
    if step % 50 == 49:
        print(step, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad

        a.grad = None
        b.grad = None
        c.grad = None

print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2')
