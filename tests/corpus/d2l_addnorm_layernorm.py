# source: after d2l-ai/d2l-en chapter_attention-mechanisms-and-transformers/transformer.md (pytorch tab: PositionWiseFFN, layer norm vs batch norm, AddNorm)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
from torch import nn

class PositionWiseFFN(nn.Module):
    def __init__(self, ffn_num_hiddens, ffn_num_outputs):
        super().__init__()
        self.dense1 = nn.Linear(4, ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(ffn_num_hiddens, ffn_num_outputs)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))

ffn = PositionWiseFFN(8, 4)
ffn.eval()
print(ffn(torch.ones((2, 3, 4)))[0])

ln = nn.LayerNorm(2)
bn = nn.BatchNorm1d(2)
X = torch.tensor([[1, 2], [2, 3]], dtype=torch.float32)
print('layer norm:', ln(X), '\nbatch norm:', bn(X))

class AddNorm(nn.Module):
    def __init__(self, norm_shape, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(norm_shape)

    def forward(self, X, Y):
        return self.ln(self.dropout(Y) + X)

add_norm = AddNorm(4, 0.5)
print(add_norm)
X = torch.randn((2, 3, 4))
print(add_norm(X, ffn(X)))
add_norm.eval()
out = add_norm(X, ffn(X))
print(out.shape)
print(out)

add_norm.train()
out = add_norm(X, ffn(X))
out[:, :, 0].sum().backward()
print(add_norm.ln.weight.grad)
print(add_norm.ln.bias.grad)
print(ffn.dense2.bias.grad)
