# source: after rasbt/stat453-deep-learning-ss21 L06 (logistic regression / ADALINE with autograd)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn.functional as F

torch.manual_seed(123)
X = torch.randn(20, 2)
y = (X[:, 0] + X[:, 1] > 0).float()

weights = torch.zeros(2, 1, requires_grad=True)
bias = torch.zeros(1, requires_grad=True)

def forward(x):
    return torch.mm(x, weights).view(-1) + bias

num_epochs, learning_rate = 5, 0.1
for e in range(num_epochs):
    yhat = forward(X)
    loss = F.mse_loss(yhat, y)

    grad_w = torch.autograd.grad(loss, weights, retain_graph=True)[0]
    grad_b = torch.autograd.grad(loss, bias)[0]

    weights = weights - learning_rate * grad_w
    bias = bias - learning_rate * grad_b
    weights = weights.detach().requires_grad_(True)
    bias = bias.detach().requires_grad_(True)

    print('Epoch: %03d' % (e + 1), end="")
    print(' | MSE: %.5f' % loss)
