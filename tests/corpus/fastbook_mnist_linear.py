# source: after fastai/fastbook 04_mnist_basics.ipynb (MNIST loss function, from-scratch linear model)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

torch.manual_seed(42)
train_x = torch.rand(40, 16)
train_y = (train_x.sum(1, keepdim=True) > 8).float()

def init_params(size, std=1.0): return (torch.randn(size) * std).requires_grad_()

weights = init_params((16, 1))
bias = init_params(1)

def linear1(xb): return xb @ weights + bias

def mnist_loss(predictions, targets):
    predictions = predictions.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()

def calc_grad(xb, yb, model):
    preds = model(xb)
    loss = mnist_loss(preds, yb)
    loss.backward()

def train_epoch(model, lr, params):
    for i in range(0, 40, 10):
        calc_grad(train_x[i:i + 10], train_y[i:i + 10], model)
        for p in params:
            p.data -= p.grad * lr
            p.grad.zero_()

def batch_accuracy(xb, yb):
    preds = xb.sigmoid()
    correct = (preds > 0.5) == yb
    return correct.float().mean()

lr = 1.
params = weights, bias
for i in range(5):
    train_epoch(linear1, lr, params)
    print(round(batch_accuracy(linear1(train_x), train_y).item(), 4), end=' ')
