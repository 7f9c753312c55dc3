# source: after github.com/Sergerooo/NeuralNetworks2023 (two-variable minimisation with autograd, f-string per iteration)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def rosenbrock(x, y, a=1.0, b=100.0):
    return (a - x) ** 2 + b * (y - x ** 2) ** 2

x = torch.tensor(-1.0, requires_grad=True)
y = torch.tensor(1.5, requires_grad=True)
lr = 1e-3
history = []
for step in range(200):
    loss = rosenbrock(x, y)
    history.append((x.item(), y.item(), loss.item()))
    loss.backward()
    with torch.no_grad():
        x -= lr * x.grad
        y -= lr * y.grad
    x.grad.zero_()
    y.grad.zero_()
    if step % 50 == 0:
        print(f"{step:3d}  x={x.item():.4f}  y={y.item():.4f}  loss={loss.item():.4f}")
len(history)
