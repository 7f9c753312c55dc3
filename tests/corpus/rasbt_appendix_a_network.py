# source: after rasbt/LLMs-from-scratch appendix-A/01_main-chapter-code/code-part1.ipynb (A.5 multilayer networks)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch


class NeuralNetwork(torch.nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super().__init__()

        self.layers = torch.nn.Sequential(
            torch.nn.Linear(num_inputs, 12),
            torch.nn.ReLU(),
            torch.nn.Linear(12, 8),
            torch.nn.ReLU(),
            torch.nn.Linear(8, num_outputs),
        )

    def forward(self, x):
        logits = self.layers(x)
        return logits


torch.manual_seed(123)
model = NeuralNetwork(10, 3)
print(model)

num_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("Total number of trainable model parameters:", num_params)

X = torch.rand((1, 10))
with torch.no_grad():
    out = torch.softmax(model(X), dim=1)
print(out)
