# source: after github.com/ionahu08/DeepLearningPyTorch (copy of IBM's Coursera labs, 'Linear regression 1D: training one parameter')
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

X = torch.arange(-3, 3, 0.1).view(-1, 1)
f = -3 * X
Y = f + 0.1 * torch.randn(X.size())

def forward(x):
    return w * x

def criterion(yhat, y):
    return torch.mean((yhat - y) ** 2)

w = torch.tensor(-10.0, requires_grad=True)
lr = 0.1
LOSS = []

def train_model(iter):
    for epoch in range(iter):
        Yhat = forward(X)
        loss = criterion(Yhat, Y)
        LOSS.append(loss.item())
        loss.backward()
        w.data = w.data - lr * w.grad.data
        w.grad.data.zero_()

train_model(4)
print(LOSS)
w
