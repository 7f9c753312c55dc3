# source: after d2l-ai/d2l-en chapter_builders-guide/model-construction.md (pytorch tab: MLP, MySequential, FixedHiddenMLP, NestMLP, chimera)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn
from torch.nn import functional as F

net = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 10))

X = torch.rand(2, 20)
print(net(X).shape)

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 16)
        self.out = nn.Linear(16, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))

net = MLP()
print(net(X))

class MySequential(nn.Module):
    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self.add_module(str(idx), module)

    def forward(self, X):
        for module in self.children():
            X = module(X)
        return X

net = MySequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 10))
print(net)
print(net(X))

class FixedHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((20, 20))
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()

net = FixedHiddenMLP()
out = net(X)
print(out)
out.backward()
print(net.linear.bias.grad)

class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 16), nn.ReLU(),
                                 nn.Linear(16, 8), nn.ReLU())
        self.linear = nn.Linear(8, 4)

    def forward(self, X):
        return self.linear(self.net(X))

chimera = nn.Sequential(NestMLP(), nn.Linear(4, 20), FixedHiddenMLP())
print(chimera)
y = chimera(X)
y.backward()
print(chimera[1].weight.grad)
y
