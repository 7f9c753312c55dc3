# source: after pytorch/tutorials beginner_source/examples_autograd/polynomial_custom_function.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import math


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input ** 3

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 3 * input ** 2


dtype = torch.float
x = torch.linspace(-1, 1, 200, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), 0.5, dtype=dtype, requires_grad=True)

learning_rate = 1e-3
for t in range(100):
    P3 = Cube.apply
    y_pred = a + b * P3(x)
    loss = (y_pred - y).pow(2).sum()
    if t % 20 == 19:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        a.grad = None
        b.grad = None

print(f'Result: y = {a.item()} + {b.item()} * x^3')
