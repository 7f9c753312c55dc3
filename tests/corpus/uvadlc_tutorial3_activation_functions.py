# source: after phlippe/uvadlc_notebooks docs/tutorial_notebooks/tutorial3/Activation_Functions.ipynb (ActivationFunction base class, Sigmoid/Tanh/ReLU/LeakyReLU/ELU/Swish, get_grads)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch
import torch.nn as nn

class ActivationFunction(nn.Module):

    def __init__(self):
        super().__init__()
        self.name = self.__class__.__name__
        self.config = {"name": self.name}

class Sigmoid(ActivationFunction):

    def forward(self, x):
        return 1 / (1 + torch.exp(-x))

class Tanh(ActivationFunction):

    def forward(self, x):
        x_exp, neg_x_exp = torch.exp(x), torch.exp(-x)
        return (x_exp - neg_x_exp) / (x_exp + neg_x_exp)

class ReLU(ActivationFunction):

    def forward(self, x):
        return x * (x > 0).float()

class LeakyReLU(ActivationFunction):

    def __init__(self, alpha=0.1):
        super().__init__()
        self.config["alpha"] = alpha

    def forward(self, x):
        return torch.where(x > 0, x, self.config["alpha"] * x)

class ELU(ActivationFunction):

    def forward(self, x):
        return torch.where(x > 0, x, torch.exp(x) - 1)

class Swish(ActivationFunction):

    def forward(self, x):
        return x * torch.sigmoid(x)

act_fn_by_name = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leakyrelu": LeakyReLU,
    "elu": ELU,
    "swish": Swish
}

def get_grads(act_fn, x):
    x = x.clone().requires_grad_()
    out = act_fn(x)
    out.sum().backward()
    return x.grad

x = torch.linspace(-3, 3, 7)
for name in act_fn_by_name:
    act_fn = act_fn_by_name[name]()
    y = act_fn(x)
    y_grads = get_grads(act_fn, x)
    print(act_fn.config, act_fn)
    print(y)
    print(y_grads)

class BaseNetwork(nn.Module):

    def __init__(self, act_fn, input_size=6, num_classes=3, hidden_sizes=[8, 4]):
        super().__init__()
        layers = []
        layer_sizes = [input_size] + hidden_sizes
        for layer_index in range(1, len(layer_sizes)):
            layers += [nn.Linear(layer_sizes[layer_index - 1], layer_sizes[layer_index]),
                       act_fn]
        layers += [nn.Linear(layer_sizes[-1], num_classes)]
        self.layers = nn.Sequential(*layers)

        self.config = {"act_fn": act_fn.config, "input_size": input_size,
                       "num_classes": num_classes, "hidden_sizes": hidden_sizes}

    def forward(self, x):
        x = x.view(x.size(0), -1)
        out = self.layers(x)
        return out

net = BaseNetwork(act_fn=LeakyReLU(alpha=0.2))
print(net)
print(net.config)
imgs = torch.randn(5, 2, 3)
labels = torch.tensor([0, 2, 1, 1, 0])
net.zero_grad()
preds = net(imgs)
loss = nn.functional.cross_entropy(preds, labels)
loss.backward()
grads = {name: params.grad.data.view(-1) for name, params in net.named_parameters() if "weight" in name}
for key in grads:
    print(key, grads[key].abs().mean().item())
print(net.layers[4].bias.grad)
