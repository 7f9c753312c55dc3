# source: after pytorch/tutorials beginner_source/examples_autograd/two_layer_net_custom_function.py (grad_input[input < 0] = 0), used outside a Function
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

x = torch.tensor([-2.0, -0.5, 0.5, 2.0], requires_grad=True)
y = x.clone()
y[y < 0] = 0
y = y * 3
y.sum().backward()
print(x.grad)

x.grad = None
z = x * 1
z[0] = 10.0
z.sum().backward()
print(x.grad)
