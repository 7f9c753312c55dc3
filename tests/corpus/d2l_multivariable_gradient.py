# source: after d2l-ai/d2l-en chapter_appendix-mathematics-for-deep-learning/multivariable-calculus.md (pytorch tab)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

def f(x, y):
    return torch.log(torch.exp(x) + torch.exp(y))

def grad_f(x, y):
    return torch.tensor([torch.exp(x) / (torch.exp(x) + torch.exp(y)),
                         torch.exp(y) / (torch.exp(x) + torch.exp(y))])

epsilon = torch.tensor([0.01, -0.03])
grad_approx = f(torch.tensor([0.]), torch.log(torch.tensor([2.]))) + epsilon.dot(
    grad_f(torch.tensor([0.]), torch.log(torch.tensor(2.))))
true_value = f(torch.tensor([0.]) + epsilon[0], torch.log(torch.tensor([2.])) + epsilon[1])
f'approximation: {grad_approx}, true Value: {true_value}'
