# source: after karpathy/nn-zero-to-hero lectures/makemore (lists of parameters and comprehensions over them)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

xs = [torch.tensor(float(i), requires_grad=True) for i in range(1, 5)]
ys = [x ** 2 + 1 for x in xs]
total = sum(ys)
total.backward()
print([x.grad.item() for x in xs])
print({i: round(x.grad.item(), 2) for i, x in enumerate(xs)})
