# source: after d2l-ai/d2l-en chapter_convolutional-modern/batch-norm.md (pytorch tab: batch_norm from scratch, BatchNorm module with moving statistics, concise nn.BatchNorm1d)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data

class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        if num_dims == 2:
            shape = (1, num_features)
        else:
            shape = (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean,
            self.moving_var, eps=1e-5, momentum=0.1)
        return Y

net = nn.Sequential(nn.Linear(6, 4), BatchNorm(4, num_dims=2), nn.Sigmoid(), nn.Linear(4, 2))
concise = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.Sigmoid(), nn.Linear(4, 2))
with torch.no_grad():
    for a, b in zip([net[0], net[3]], [concise[0], concise[3]]):
        b.weight.copy_(a.weight)
        b.bias.copy_(a.bias)
print(concise)

X = torch.randn(8, 6)
y = torch.randint(0, 2, (8,))
loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.5)
trainer2 = torch.optim.SGD(concise.parameters(), lr=0.5)
for epoch in range(5):
    l = loss(net(X), y)
    trainer.zero_grad()
    l.backward()
    trainer.step()
    l2 = loss(concise(X), y)
    trainer2.zero_grad()
    l2.backward()
    trainer2.step()
    print(epoch, l.item(), l2.item())

print(net[1].gamma.reshape((-1,)), net[1].beta.reshape((-1,)))
print(concise[1].weight, concise[1].bias)
print(net[1].moving_mean, concise[1].running_mean)
print(net[1].moving_var, concise[1].running_var)
print(net[1].gamma.grad)
concise.eval()
with torch.no_grad():
    print(net(X[:2]), concise(X[:2]))
