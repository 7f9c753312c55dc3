# source: after pytorch/pytorch docs/source/notes/extending.rst (Extending torch.autograd: LinearFunction; Extending torch.nn: Linear module with extra_repr)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn as nn
from torch.autograd import Function
from torch.autograd import gradcheck

class LinearFunction(Function):

    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None

        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)

        return grad_input, grad_weight, grad_bias

linear = LinearFunction.apply

input = (torch.randn(4, 3, dtype=torch.double, requires_grad=True),
         torch.randn(2, 3, dtype=torch.double, requires_grad=True))
test = gradcheck(linear, input, eps=1e-6, atol=1e-4)
print(test)

class Linear(nn.Module):
    def __init__(self, input_features, output_features, bias=True):
        super(Linear, self).__init__()
        self.input_features = input_features
        self.output_features = output_features

        self.weight = nn.Parameter(torch.empty(output_features, input_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(output_features))
        else:
            self.register_parameter('bias', None)

        self.weight.data.uniform_(-0.1, 0.1)
        if self.bias is not None:
            self.bias.data.uniform_(-0.1, 0.1)

    def forward(self, input):
        return LinearFunction.apply(input, self.weight, self.bias)

    def extra_repr(self):
        return 'input_features={}, output_features={}, bias={}'.format(
            self.input_features, self.output_features, self.bias is not None
        )

layer = Linear(3, 2)
print(layer)
print(layer.weight)
print(layer.bias)
x = torch.randn(5, 3)
out = layer(x)
print(out)
out.pow(2).sum().backward()
print(layer.weight.grad)
print(layer.bias.grad)

no_bias = Linear(3, 2, bias=False)
print(no_bias)
print(no_bias.bias)
x = torch.randn(5, 3, requires_grad=True)
y = no_bias(x).sum()
y.backward()
print(x.grad)
print(no_bias.weight.grad)
