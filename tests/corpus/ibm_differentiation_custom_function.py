# source: after github.com/ionahu08/DeepLearningPyTorch (copy of IBM's Coursera lab 'Differentiation in PyTorch', Deep Neural Networks with PyTorch)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch


class SQ(torch.autograd.Function):

    @staticmethod
    def forward(ctx, i):
        result = i ** 2
        ctx.save_for_backward(i)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        i, = ctx.saved_tensors
        grad_output = 2 * i
        return grad_output


x = torch.tensor(2.0, requires_grad=True)
sq = SQ.apply

y = sq(x)
y
print(y.grad_fn)
y.backward()
x.grad
