# source: after pytorch/pytorch docs/source/optim.rst (per-parameter options, taking a step, how to adjust learning rate: ExponentialLR, chaining with StepLR)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim.lr_scheduler import ExponentialLR, StepLR

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.base = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.classifier = nn.Linear(8, 2)

    def forward(self, x):
        return self.classifier(self.base(x))

model = Net()
print(model.classifier.weight)
print(model.classifier.bias)
dataset = [(torch.randn(6, 4), torch.randint(0, 2, (6,))) for _ in range(3)]
loss_fn = nn.CrossEntropyLoss()

optimizer = optim.SGD([
                {'params': model.base.parameters()},
                {'params': model.classifier.parameters(), 'lr': 1e-3}
            ], lr=1e-2, momentum=0.9)
for group in optimizer.param_groups:
    print(group['lr'], group['momentum'], len(group['params']))

for input, target in dataset:
    optimizer.zero_grad()
    output = model(input)
    loss = loss_fn(output, target)
    loss.backward()
    optimizer.step()
    print(loss.item())
print(model.classifier.bias)
print(model.base[0].bias.grad)

optimizer = optim.SGD(model.parameters(), lr=0.1)
scheduler = ExponentialLR(optimizer, gamma=0.9)
for epoch in range(5):
    for input, target in dataset:
        optimizer.zero_grad()
        output = model(input)
        loss = loss_fn(output, target)
        loss.backward()
        optimizer.step()
    scheduler.step()
    print(epoch, loss.item(), scheduler.get_last_lr())

optimizer = optim.SGD(model.parameters(), lr=0.05)
scheduler1 = ExponentialLR(optimizer, gamma=0.9)
scheduler2 = StepLR(optimizer, step_size=3, gamma=0.1)
for epoch in range(8):
    for input, target in dataset:
        optimizer.zero_grad()
        output = model(input)
        loss = loss_fn(output, target)
        loss.backward()
        optimizer.step()
    scheduler1.step()
    scheduler2.step()
    print(epoch, loss.item(), optimizer.param_groups[0]['lr'])

optimizer.zero_grad(set_to_none=False)
print(model.classifier.bias.grad)
optimizer.zero_grad()
print(model.classifier.bias.grad)
print(model.classifier.weight)
