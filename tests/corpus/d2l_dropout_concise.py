# source: after d2l-ai/d2l-en chapter_multilayer-perceptrons/dropout.md (pytorch tab: dropout_layer from scratch, concise implementation with nn.Dropout, train/eval)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)

X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
print(X)
print(dropout_layer(X, 0.))
print(dropout_layer(X, 0.5))
print(dropout_layer(X, 1.))

num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 16, 3, 12, 12
dropout1, dropout2 = 0.2, 0.5

net = nn.Sequential(nn.Flatten(),
                    nn.Linear(num_inputs, num_hiddens1),
                    nn.ReLU(),
                    nn.Dropout(dropout1),
                    nn.Linear(num_hiddens1, num_hiddens2),
                    nn.ReLU(),
                    nn.Dropout(dropout2),
                    nn.Linear(num_hiddens2, num_outputs))

def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)

net.apply(init_weights)
print(net)
print(net[7].weight)

features = torch.rand(20, 1, 4, 4)
labels = torch.randint(0, 3, (20,))
loss = nn.CrossEntropyLoss(reduction='none')
trainer = torch.optim.SGD(net.parameters(), lr=0.5)

for epoch in range(6):
    net.train()
    for i in range(0, 20, 5):
        l = loss(net(features[i:i + 5]), labels[i:i + 5])
        trainer.zero_grad()
        l.mean().backward()
        trainer.step()
    net.eval()
    with torch.no_grad():
        test_l = loss(net(features), labels).mean()
        acc = (net(features).argmax(dim=1) == labels).float().mean()
    print(f'epoch {epoch + 1}, loss {float(test_l):f}, acc {float(acc):.3f}')

print(net[4].bias.grad)
net.train()
print(net(features[:2]))
net.eval()
print(net(features[:2]))
