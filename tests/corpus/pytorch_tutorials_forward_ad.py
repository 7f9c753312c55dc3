# source: after pytorch/tutorials intermediate_source/forward_ad_usage.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.autograd.forward_ad as fwAD

primal = torch.randn(5, 5)
tangent = torch.randn(5, 5)

def fn(x, y):
    return x ** 2 + y ** 2

with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal, tangent)
    plain_tensor = torch.randn(5, 5)
    dual_output = fn(dual_input, plain_tensor)
    jvp = fwAD.unpack_dual(dual_output).tangent

print(torch.allclose(jvp, 2 * primal * tangent))
print(fwAD.unpack_dual(dual_output).tangent is None)
