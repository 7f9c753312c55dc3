# source: after deep-learning-with-pytorch/dlwpt-code p1ch5/2_autograd.ipynb
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

t_c = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
t_u = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]
t_c = torch.tensor(t_c)
t_u = torch.tensor(t_u)

def model(t_u, w, b):
    return w * t_u + b

def loss_fn(t_p, t_c):
    squared_diffs = (t_p - t_c)**2
    return squared_diffs.mean()

params = torch.tensor([1.0, 0.0], requires_grad=True)
params.grad is None

loss = loss_fn(model(t_u, *params), t_c)
loss.backward()

params.grad
