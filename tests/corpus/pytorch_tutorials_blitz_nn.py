# source: after pytorch/tutorials beginner_source/blitz/neural_networks_tutorial.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(8, 6)
        self.fc2 = nn.Linear(6, 2)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return self.fc2(x)


net = Net()
print(net)
params = list(net.parameters())
print(len(params))
print(params[0].size())

input = torch.randn(1, 8)
out = net(input)
target = torch.randn(1, 2)
criterion = nn.MSELoss()
loss = criterion(out, target)
print(loss.grad_fn)

net.zero_grad()
print('fc1.bias.grad before backward')
print(net.fc1.bias.grad)
loss.backward()
print('fc1.bias.grad after backward')
print(net.fc1.bias.grad)
