# source: after pytorch/tutorials beginner_source/basics/autogradqs_tutorial.py
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

features = torch.ones(4)
weights = torch.randn(4, 2, requires_grad=True)
bias = torch.randn(2, requires_grad=True)

logits = torch.matmul(features, weights) + bias
print(logits.requires_grad)

with torch.no_grad():
    logits = torch.matmul(features, weights) + bias
print(logits.requires_grad)

logits = torch.matmul(features, weights) + bias
logits_det = logits.detach()
print(logits_det.requires_grad)
