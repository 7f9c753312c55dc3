# source: after pytorch/tutorials beginner_source/examples_nn/polynomial_module.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import math


class Quadratic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2

    def string(self):
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2'


x = torch.linspace(-1, 1, 300)
y = torch.exp(x)
model = Quadratic()
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
for t in range(100):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 25 == 24:
        print(t, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
