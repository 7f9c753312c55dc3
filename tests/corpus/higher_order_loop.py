# source: after github.com/fxnnxc/torch_autograd (high-order derivatives with create_graph) and github.com/chandrareddytiyyagura/pytorch-basics (nth_derivative loop)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor(0.7, requires_grad=True)
y = torch.sin(x) * x
derivatives = []
current = y
for order in range(1, 4):
    current, = torch.autograd.grad(current, x, create_graph=True)
    derivatives.append(current.item())
    print(f"d^{order}y/dx^{order} = {current.item():.5f}")
derivatives
