# source: after d2l-ai/d2l-en chapter_linear-regression/linear-regression-scratch.md (sgd over a parameter collection), parameters kept in a dict
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

torch.manual_seed(1)
params = {
    "w": torch.randn(3, requires_grad=True),
    "b": torch.zeros(1, requires_grad=True),
}
X = torch.randn(10, 3)
y = torch.randn(10)

for epoch in range(3):
    pred = X @ params["w"] + params["b"]
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for name, p in params.items():
            p -= 0.1 * p.grad
            p.grad.zero_()
    print(f"epoch {epoch}: loss {loss.item():.4f}")

for name, p in params.items():
    print(name, p.grad)
