# source: after d2l-ai/d2l-en chapter_linear-classification/softmax-regression-scratch.md (pytorch tab)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdims=True)
    return X_exp / partition

X = torch.rand((2, 4))
X_prob = softmax(X)
X_prob, X_prob.sum(1)

def cross_entropy(y_hat, y):
    return -torch.log(y_hat[list(range(len(y_hat))), y]).mean()

W = torch.normal(0, 0.01, size=(4, 3), requires_grad=True)
b = torch.zeros(3, requires_grad=True)
y = torch.tensor([0, 2])
y_hat = softmax(torch.matmul(X, W) + b)
l = cross_entropy(y_hat, y)
l.backward()
b.grad
