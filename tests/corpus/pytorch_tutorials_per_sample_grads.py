# source: after pytorch/tutorials intermediate_source/per_sample_grads.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn.functional as F
from torch.func import grad, vmap

torch.manual_seed(0)

w = torch.randn(3, 2)
b = torch.zeros(2)
data = torch.randn(6, 3)
targets = torch.randint(2, (6,))

def compute_loss(w, b, sample, target):
    logits = sample @ w + b
    return F.cross_entropy(logits.unsqueeze(0), target.unsqueeze(0))

ft_compute_grad = grad(compute_loss, argnums=(0, 1))
ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
per_sample_w, per_sample_b = ft_compute_sample_grad(w, b, data, targets)

for i in range(data.shape[0]):
    gw, gb = ft_compute_grad(w, b, data[i], targets[i])
    assert torch.allclose(per_sample_w[i], gw, atol=1e-6)
print(per_sample_w.shape, per_sample_b.shape)
