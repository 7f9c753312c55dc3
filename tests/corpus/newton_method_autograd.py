# source: after stackoverflow.com/questions/54320892 (Update step in PyTorch implementation of Newton's method)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor(1.0, requires_grad=True)
for i in range(6):
    y = x ** 3 - 2 * x - 5
    y.backward()
    with torch.no_grad():
        x -= y / x.grad
    x.grad.zero_()
    print(f"step {i}: x = {x.item():.6f}")
