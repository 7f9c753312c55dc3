# source: after pytorch/pytorch docs/source/notes/modules.rst (a simple custom module, modules as building blocks, ModuleList/ModuleDict, apply(init_weights), training with modules, ModalModule)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn
import torch.nn.functional as F

class MyLinear(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.randn(out_features))

    def forward(self, input):
        return (input @ self.weight) + self.bias

m = MyLinear(4, 3)
sample_input = torch.randn(4)
print(m(sample_input))
for parameter in m.named_parameters():
    print(parameter)

net = nn.Sequential(
    MyLinear(4, 3),
    nn.ReLU(),
    MyLinear(3, 1)
)
sample_input = torch.randn(4)
print(net(sample_input))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.l0 = MyLinear(4, 3)
        self.l1 = MyLinear(3, 1)

    def forward(self, x):
        x = self.l0(x)
        x = F.relu(x)
        x = self.l1(x)
        return x

net = Net()
for child in net.named_children():
    print(child)

class BigNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = MyLinear(5, 4)
        self.net = Net()

    def forward(self, x):
        return self.net(self.l1(x))

big_net = BigNet()
for module in big_net.named_modules():
    print(module)

class DynamicNet(nn.Module):
    def __init__(self, num_layers):
        super().__init__()
        self.linears = nn.ModuleList(
            [MyLinear(4, 4) for _ in range(num_layers)])
        self.activations = nn.ModuleDict({
            'relu': nn.ReLU(),
            'lrelu': nn.LeakyReLU()
        })
        self.final = MyLinear(4, 1)

    def forward(self, x, act):
        for linear in self.linears:
            x = linear(x)
        x = self.activations[act](x)
        x = self.final(x)
        return x

dynamic_net = DynamicNet(3)
sample_input = torch.randn(4)
output = dynamic_net(sample_input, 'relu')
print(output)
for parameter in dynamic_net.named_parameters():
    print(parameter)

@torch.no_grad()
def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)
        m.bias.fill_(0.0)

seq = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
seq.apply(init_weights)
print(seq[0].weight, seq[0].bias)

net = Net()
optimizer = torch.optim.SGD(net.parameters(), lr=1e-2, weight_decay=1e-2, momentum=0.9)
for step in range(30):
    input = torch.randn(4)
    output = net(input)
    loss = torch.abs(output)
    net.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 5 == 0:
        print(step, loss.item())
net.eval()
print(net.l1.weight)
print(net.l1.weight.grad)

class ModalModule(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        if self.training:
            return x + 1.
        else:
            return x

m = ModalModule()
x = torch.randn(4)
print('training mode output: {}'.format(m(x)))
m.eval()
print('evaluation mode output: {}'.format(m(x)))
print(net.state_dict()['l0.bias'])
