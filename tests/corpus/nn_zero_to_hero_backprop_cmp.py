# source: after karpathy/nn-zero-to-hero lectures/makemore/makemore_part4_backprop.ipynb (cmp and manual backprop)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def cmp(s, dt, t):
    ex = torch.all(dt == t.grad).item()
    app = torch.allclose(dt, t.grad)
    maxdiff = (dt - t.grad).abs().max().item()
    print(f'{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}')

g = torch.Generator().manual_seed(2147483647)
n = 4
x = torch.randn((n, 3), generator=g)
W = torch.randn((3, 5), generator=g, requires_grad=True)
b = torch.randn(5, generator=g, requires_grad=True)
Y = torch.tensor([1, 0, 4, 2])

logits = x @ W + b
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Y].mean()

for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits]:
    t.retain_grad()
loss.backward()

dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Y] = -1.0/n
dprobs = (1.0 / probs) * dlogprobs
dlogits = torch.softmax(logits, 1)
dlogits[range(n), Y] -= 1
dlogits /= n
dW = x.T @ dlogits
db = dlogits.sum(0)

cmp('logprobs', dlogprobs, logprobs)
cmp('probs', dprobs, probs)
cmp('logits', dlogits, logits)
cmp('W', dW, W)
cmp('b', db, b)
