# source: after pytorch/tutorials beginner_source/nn_tutorial.py (refactor using nn.Module, nn.Parameter, nn.Linear, optim)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import math
import torch
import torch.nn.functional as F
from torch import nn
from torch import optim

n, c = 48, 12
x_train = torch.randn(n, c)
y_train = (x_train[:, :4].argmax(dim=1))
bs = 16
lr = 0.5
epochs = 2
loss_func = F.cross_entropy

def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()

class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(c, 4) / math.sqrt(c))
        self.bias = nn.Parameter(torch.zeros(4))

    def forward(self, xb):
        return xb @ self.weights + self.bias

model = Mnist_Logistic()
print(model.weights)
xb = x_train[0:bs]
yb = y_train[0:bs]
print(loss_func(model(xb), yb), accuracy(model(xb), yb))

def fit():
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            print(epoch, i, loss.item())

            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()

fit()
print(loss_func(model(xb), yb))
print(model.bias)

class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(c, 4)

    def forward(self, xb):
        return self.lin(xb)

model = Mnist_Logistic()
print(model)
print(model.lin.weight, model.lin.bias)
fit()
print(loss_func(model(xb), yb))

def get_model():
    model = Mnist_Logistic()
    return model, optim.SGD(model.parameters(), lr=lr)

model, opt = get_model()
print(loss_func(model(xb), yb))
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)

        loss.backward()
        if i == 0:
            print(model.lin.bias.grad)
        opt.step()
        opt.zero_grad()
    print(epoch, loss.item())

print(loss_func(model(xb), yb), accuracy(model(xb), yb))
model.lin.weight
