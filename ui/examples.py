"""Programs a learner can start from, in the seed notebook's order. Add one here and it
appears in the Playground's example picker; lessons open theirs in the Playground too."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    title: str
    code: str
    values: dict[str, str] = field(default_factory=dict)
    constants: frozenset[str] = frozenset()  # inputs with requires_grad off


BCE_CODE = """\
def binary_cross_entropy_loss(prediction, target):
    epsilon = 1e-8  # to prevent log(0)
    prediction = torch.clamp(prediction, epsilon, 1 - epsilon)
    return -(target * torch.log(prediction) + (1 - target) * torch.log(1 - prediction))

w = torch.tensor(1.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
z = w * x + b
y_pred = torch.sigmoid(z)
loss = binary_cross_entropy_loss(y_pred, y)
"""

TRAINING_CODE = """\
xs = torch.tensor([0.5, 1.5, 2.0, 3.0, 3.5, 4.5])  # a feature
ys = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])  # its label
w = torch.tensor(0.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
lr = 0.5
for step in range(200):
    p = torch.sigmoid(w * xs + b)
    loss = F.binary_cross_entropy(p, ys)
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad.zero_()
    b.grad.zero_()
"""

EXAMPLES: list[Example] = [
    Example("sin(x²): the chain rule in two steps", "y = x**2\nz = torch.sin(y)\n",
            {"x": "4"}),
    Example("x²: the first derivative", "y = x**2\n", {"x": "3"}),
    Example("Logistic neuron with BCE loss", BCE_CODE, {"x": "6.7", "y": "0"},
            frozenset({"x", "y"})),
    Example("A vector: (x²).mean()", "y = (x**2).mean()\n", {"x": "[1, 2, 3]"}),
    Example("Gradients add up: backward twice",
            "y = x**2\ny.backward(retain_graph=True)\nfirst = x.grad.clone()\n"
            "y.backward()\nsecond = x.grad.clone()\n", {"x": "2"}),
    Example("Non-leaf .grad and retain_grad()",
            "y = x**2\ny.retain_grad()\nz = torch.sin(y)\nz.backward()\n", {"x": "4"}),
    Example("Stop tracking with torch.no_grad()",
            "with torch.no_grad():\n    y = x**2\nz = y + x\n", {"x": "2"}),
    Example("Stop tracking with detach()", "y = x.detach()**2\nz = y * x\n", {"x": "2"}),
    Example("A tiny MLP on a vector",
            "torch.manual_seed(0)\nW1 = torch.randn(3, 4, requires_grad=True)\n"
            "h = torch.tanh(x @ W1)\nw2 = torch.randn(4, requires_grad=True)\n"
            "loss = (h @ w2 - 1.0)**2\n", {"x": "[0.5, -1, 2]"}),
    Example("Train a logistic neuron: a loop of 200 steps", TRAINING_CODE),
]
