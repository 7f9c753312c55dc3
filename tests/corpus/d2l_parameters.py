# source: after d2l-ai/d2l-en chapter_builders-guide/parameters.md (pytorch tab: parameter access, all parameters at once, tied parameters)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
X = torch.rand(size=(2, 4))
print(net(X).shape)

print(net[2].state_dict())
print(type(net[2].bias), net[2].bias.data)
print(net[2].weight.grad == None)

print([(name, param.shape) for name, param in net.named_parameters()])
print(net.state_dict()['2.bias'].data)

shared = nn.Linear(8, 8)
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(),
                    shared, nn.ReLU(),
                    shared, nn.ReLU(),
                    nn.Linear(8, 1))
net(X)
print(net[2].weight.data[0] == net[4].weight.data[0])
net[2].weight.data[0, 0] = 100
print(net[2].weight.data[0] == net[4].weight.data[0])
print(net[4].weight[0])

y = net(X).sum()
y.backward()
print(net[2].weight.grad[0])
print(net[2].bias.grad)
print(len(list(net.parameters())))
print(*[(name, param.shape) for name, param in net.named_parameters()])
