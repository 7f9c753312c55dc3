# source: after d2l-ai/d2l-en chapter_linear-regression/linear-regression-concise.md (pytorch tab)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

true_w = torch.tensor([2.0, -1.0])
X = torch.normal(0, 1, (100, 2))
y = (X @ true_w + 0.5).reshape(-1, 1)

net = nn.Sequential(nn.Linear(2, 1))
net[0].weight.data.normal_(0, 0.01)
net[0].bias.data.fill_(0)
loss = nn.MSELoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)

for epoch in range(3):
    for i in range(0, 100, 10):
        l = loss(net(X[i:i + 10]), y[i:i + 10])
        trainer.zero_grad()
        l.backward()
        trainer.step()
    l = loss(net(X), y)
    print(f'epoch {epoch + 1}, loss {l:f}')

w = net[0].weight.data
print('error in estimating w:', true_w - w.reshape(true_w.shape))
