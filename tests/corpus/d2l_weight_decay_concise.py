# source: after d2l-ai/d2l-en chapter_multilayer-perceptrons/weight-decay.md (pytorch tab: high-dimensional linear regression, weight decay through an SGD param group)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

n_train, num_inputs, batch_size = 20, 40, 5
true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
train_X = torch.normal(0, 1, (n_train, num_inputs))
train_y = train_X @ true_w + true_b + torch.normal(0, 0.01, (n_train, 1))

def train_concise(wd):
    net = nn.Sequential(nn.Linear(num_inputs, 1))
    for param in net.parameters():
        param.data.normal_()
    loss = nn.MSELoss(reduction='none')
    num_epochs, lr = 10, 0.003
    trainer = torch.optim.SGD([
        {"params": net[0].weight, 'weight_decay': wd},
        {"params": net[0].bias}], lr=lr)
    for epoch in range(num_epochs):
        for i in range(0, n_train, batch_size):
            X, y = train_X[i:i + batch_size], train_y[i:i + batch_size]
            trainer.zero_grad()
            l = loss(net(X), y)
            l.mean().backward()
            trainer.step()
        if (epoch + 1) % 2 == 0:
            with torch.no_grad():
                print(epoch + 1, loss(net(train_X), train_y).mean().item())
    print('L2 norm of w:', net[0].weight.norm().item())
    print(net[0].bias.grad)
    return net

net = train_concise(0)
net = train_concise(3)
print(net[0].weight[0, :5])
