# source: after pytorch/tutorials beginner_source/basics/autogradqs_tutorial.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

features = torch.ones(4)
target = torch.tensor([0.0, 1.0])
weights = torch.randn(4, 2, requires_grad=True)
bias = torch.randn(2, requires_grad=True)
logits = torch.matmul(features, weights) + bias
loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)

print(f"Gradient function for logits = {logits.grad_fn}")
print(f"Gradient function for loss = {loss.grad_fn}")

loss.backward()
print(weights.grad)
print(bias.grad)
