# source: after machinelearningmastery.com/implementing-gradient-descent-in-pytorch/
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

X = torch.arange(-4, 4, 0.2).view(-1, 1)
func = -2 * X
Y = func + 0.3 * torch.randn(X.size())

def forward(x):
    return w * x + b

def criterion(y_pred, y):
    return torch.mean((y_pred - y) ** 2)

w = torch.tensor(-8.0, requires_grad=True)
b = torch.tensor(-12.0, requires_grad=True)
step_size = 0.1
loss_list = []
iter = 15

for i in range(iter):
    Y_pred = forward(X)
    loss = criterion(Y_pred, Y)
    loss_list.append(loss.item())
    loss.backward()
    w.data = w.data - step_size * w.grad.data
    b.data = b.data - step_size * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
    print('{}, \t{}, \t{}, \t{}'.format(i, loss.item(), w.item(), b.item()))
