# source: after pytorch/tutorials beginner_source/basics/optimization_tutorial.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

torch.manual_seed(0)
X = torch.randn(64, 10)
labels = torch.randint(0, 3, (64,))

model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)

def train_loop(X, labels, model, loss_fn, optimizer, batch_size=16):
    model.train()
    for batch in range(0, len(X), batch_size):
        pred = model(X[batch:batch + batch_size])
        loss = loss_fn(pred, labels[batch:batch + batch_size])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(f"loss: {loss.item():>7f}  [{batch + batch_size:>5d}/{len(X):>5d}]")

def test_loop(X, labels, model, loss_fn):
    model.eval()
    with torch.no_grad():
        pred = model(X)
        test_loss = loss_fn(pred, labels).item()
        correct = (pred.argmax(1) == labels).type(torch.float).sum().item()
    print(f"Accuracy: {(100 * correct / len(X)):>0.1f}%, Avg loss: {test_loss:>8f}")

for t in range(3):
    print(f"Epoch {t + 1}\n-------------------------------")
    train_loop(X, labels, model, loss_fn, optimizer)
    test_loop(X, labels, model, loss_fn)
print("Done!")
