# source: after d2l-ai/d2l-en chapter_convolutional-neural-networks/conv-layer.md (pytorch tab: corr2d, Conv2D module, edge detection, learning a kernel with nn.Conv2d)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y

X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
print(corr2d(X, K))

class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias

X = torch.ones((6, 8))
X[:, 2:6] = 0
print(X)
K = torch.tensor([[1.0, -1.0]])
Y = corr2d(X, K)
print(Y)
print(corr2d(X.t(), K))

own = Conv2D(kernel_size=(1, 2))
print(own.weight)
for i in range(10):
    l = ((own(X) - Y) ** 2).sum()
    own.zero_grad()
    l.backward()
    with torch.no_grad():
        own.weight -= 1e-2 * own.weight.grad
        own.bias -= 1e-2 * own.bias.grad
    if (i + 1) % 2 == 0:
        print(f'epoch {i + 1}, loss {l:.3f}')
print(own.weight.data, own.bias.data)

conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
print(conv2d.weight)
X = X.reshape((1, 1, 6, 8))
Y = Y.reshape((1, 1, 6, 7))
lr = 3e-2

for i in range(10):
    Y_hat = conv2d(X)
    l = (Y_hat - Y) ** 2
    conv2d.zero_grad()
    l.sum().backward()
    conv2d.weight.data[:] -= lr * conv2d.weight.grad
    if (i + 1) % 2 == 0:
        print(f'epoch {i + 1}, loss {l.sum():.3f}')

print(conv2d.weight.grad)
conv2d.weight.data.reshape((1, 2))
