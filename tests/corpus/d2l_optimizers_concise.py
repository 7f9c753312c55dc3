# source: after d2l-ai/d2l-en chapter_optimization/minibatch-sgd.md train_concise_ch11, with the trainers of momentum.md, adagrad.md, rmsprop.md, adam.md (pytorch tabs)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

features = torch.randn(30, 5)
labels = features @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.2

def train_concise_ch11(trainer_fn, hyperparams, num_epochs=4):
    net = nn.Sequential(nn.Linear(5, 1))

    def init_weights(module):
        if type(module) == nn.Linear:
            torch.nn.init.normal_(module.weight, std=0.01)

    net.apply(init_weights)
    optimizer = trainer_fn(net.parameters(), **hyperparams)
    loss = nn.MSELoss(reduction='none')
    for _ in range(num_epochs):
        for i in range(0, 30, 10):
            X, y = features[i:i + 10], labels[i:i + 10]
            optimizer.zero_grad()
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)
            l.mean().backward()
            optimizer.step()
        print(f'loss: {l.mean().item():.6f}')
    print(net[0].weight.data, net[0].bias.data)
    return net

trainer = torch.optim.SGD
train_concise_ch11(trainer, {'lr': 0.05})
train_concise_ch11(trainer, {'lr': 0.005, 'momentum': 0.9})
train_concise_ch11(trainer, {'lr': 0.005, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 1e-3})
trainer = torch.optim.Adagrad
train_concise_ch11(trainer, {'lr': 0.1})
trainer = torch.optim.RMSprop
train_concise_ch11(trainer, {'lr': 0.01, 'alpha': 0.9})
trainer = torch.optim.Adam
train_concise_ch11(trainer, {'lr': 0.01})
trainer = torch.optim.AdamW
net = train_concise_ch11(trainer, {'lr': 0.01, 'weight_decay': 0.1})
net[0].weight.grad
