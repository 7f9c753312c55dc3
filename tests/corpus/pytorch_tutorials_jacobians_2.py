# source: after pytorch/tutorials intermediate_source/jacobians_hessians.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn.functional as F
from torch.func import jacrev, jacfwd, hessian

torch.manual_seed(0)

def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()

Din, Dout = 6, 4
weight = torch.randn(Dout, Din)
bias = torch.randn(Dout)
x = torch.randn(Din)

ft_jacobian = jacfwd(predict, argnums=2)(weight, bias, x)
rev_jacobian = jacrev(predict, argnums=2)(weight, bias, x)
print(torch.allclose(ft_jacobian, rev_jacobian, atol=1e-6))

ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
print(ft_jac_weight.shape, ft_jac_bias.shape)

hess0 = hessian(predict, argnums=2)(weight, bias, x)
hess1 = jacfwd(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
torch.allclose(hess0, hess1)
