"""torch.nn, torch.optim, the program's own classes and custom autograd Functions,
checked against plain torch running the same program in a fresh namespace.

Each program is run twice: by the engine, and by Python itself on plain torch (this file's
own fixtures, seeded as the engine seeds its run). What they print must be the same
text with the same numbers, and the parameters' gradients the same tensors. Initial weights
come from ``torch.manual_seed``: the engine draws them from the run's generator, so the
process's RNG must be exactly where it was after the run.
"""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

from engine import run_program
from tests.corpus import texts_differ


def plain(source: str, seed: int = 0) -> tuple[str, dict[str, torch.Tensor | None]]:
    """Printed text and module parameters' grads of ``source`` in plain torch."""
    namespace: dict = {"__name__": "__plain__"}
    printed = io.StringIO()
    with torch.random.fork_rng(devices=[]), contextlib.redirect_stdout(printed):
        torch.manual_seed(seed)
        exec(compile(source, "<fixture>", "exec"), namespace)  # our own fixture text
    grads = {}
    for name, value in namespace.items():
        if isinstance(value, torch.nn.Module):
            for path, p in value.named_parameters():
                key = f"{name}.{path}" if "." not in path or path[0].isdigit() else path
                grads.setdefault(key, p.grad)
    return printed.getvalue(), grads


def engine(source: str, seed: int = 0):
    state = torch.get_rng_state()
    result = run_program(source, auto_backward=False, seed=seed)
    assert torch.equal(torch.get_rng_state(), state), "the process RNG moved"
    assert result.error is None, result.error
    return result


def assert_same(source: str, seed: int = 0) -> object:
    expected_text, expected_grads = plain(source, seed)
    result = engine(source, seed)
    problem = texts_differ(expected_text, result.printed)
    assert problem is None, problem
    for name, grad in expected_grads.items():
        got = result.grads.get(name)
        if grad is None:
            assert got is None, name
        else:
            assert got is not None and torch.allclose(got, grad, rtol=1e-6, atol=1e-7), name
    return result


LAYERS = {
    "linear": "nn.Linear(3, 4)",
    "linear-no-bias": "nn.Linear(5, 2, bias=False)",
    "bilinear": "nn.Bilinear(2, 3, 4)",
    "embedding": "nn.Embedding(6, 3, padding_idx=1)",
    "conv1d": "nn.Conv1d(2, 3, kernel_size=3)",
    "conv2d": "nn.Conv2d(1, 2, 3, padding=1)",
    "layernorm": "nn.LayerNorm(4)",
    "batchnorm": "nn.BatchNorm1d(3)",
}


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("layer", LAYERS.values(), ids=LAYERS.keys())
def test_initial_weights_are_plain_torchs_after_the_same_seed(layer: str, seed: int):
    """And the numbers drawn after the layer are too: the layer drew exactly as many."""
    assert_same(f"import torch\nfrom torch import nn\ntorch.manual_seed({seed})\n"
                f"layer = {layer}\nprint(layer.state_dict())\nprint(torch.randn(3))\n")


TRAINING = """
import torch
import torch.nn as nn
import torch.optim as optim

class Net(nn.Module):
    def __init__(self, hidden):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(3, hidden)
        self.fc2 = nn.Linear(hidden, 1)
        self.drop = nn.Dropout(0.25)

    def forward(self, x):
        return self.fc2(self.drop(torch.tanh(self.fc1(x))))

torch.manual_seed(1)
model = Net(5)
print(model)
x = torch.randn(8, 3)
y = torch.randn(8, 1)
optimizer = OPTIMIZER
scheduler = SCHEDULER
loss_fn = nn.MSELoss()
for step in range(6):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(step, loss.item(), scheduler.get_last_lr())
model.eval()
print(model(x[:2]))
for name, p in model.named_parameters():
    print(name, p)
loss = loss_fn(model(x), y)
loss.backward()
"""
OPTIMIZERS = [
    "optim.SGD(model.parameters(), lr=0.1)",
    "optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)",
    "optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99))",
    "optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1, amsgrad=True)",
    "optim.RMSprop(model.parameters(), lr=0.01, momentum=0.5, centered=True)",
    "optim.Adagrad(model.parameters(), lr=0.1, lr_decay=0.01)",
    "optim.SGD([{'params': model.fc1.parameters()}, {'params': model.fc2.parameters(), "
    "'lr': 0.01}], lr=0.1, momentum=0.9)",
]
SCHEDULERS = ["optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)",
              "optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)"]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_step_of_a_training_loop_is_plain_torchs(optimizer: str, scheduler: str):
    """Weights from the seed, dropout masks from the run's generator, each optimizer
    step and learning rate: every printed number and the last gradients."""
    source = TRAINING.replace("OPTIMIZER", optimizer).replace("SCHEDULER", scheduler)
    result = assert_same(source)
    assert {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"} <= set(result.grads)


def test_parameters_are_named_by_module_path_in_the_graph():
    result = engine(TRAINING.replace("OPTIMIZER", OPTIMIZERS[0])
                    .replace("SCHEDULER", SCHEDULERS[0]))
    names = {n["name"] for n in result.graph["nodes"] if n["kind"] == "leaf"}
    assert {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"} <= names
    labels = {box["label"] for box in result.graph["modules"]}
    assert {"model: Net", "fc1: Linear(3 → 5)", "fc2: Linear(5 → 1)",
            "loss_fn: MSELoss"} <= labels
    boxes = {box["id"]: box for box in result.graph["modules"]}
    fc1 = next(b for b in boxes.values() if b["label"].startswith("fc1"))
    assert boxes[fc1["parent"]]["label"] == "model: Net"
    in_fc1 = {n["name"] for n in result.graph["nodes"] if n.get("module") == fc1["id"]}
    assert {"fc1.weight", "fc1.bias"} <= in_fc1


CLASSES = """
import torch
from torch import nn

class Base(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(n, n) for _ in range(2)])
        self.scale = nn.Parameter(torch.ones(n))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x * self.scale

class Deeper(Base):
    def __init__(self, n):
        super().__init__(n)
        self.head = nn.Sequential(nn.Linear(n, 2), nn.LogSoftmax(dim=1))

    def forward(self, x):
        return self.head(super().forward(x))

    @staticmethod
    def describe(k):
        return f"{k} layers"

class Counter:
    def __init__(self):
        self.total = 0.0

    def add(self, value):
        self.total = self.total + value
        return self

torch.manual_seed(3)
net = Deeper(4)
print(net)
print(len(net.layers), net.layers[1].weight.shape, net.describe(2), Deeper.describe(3))
print(isinstance(net, Base), isinstance(net, nn.Module), isinstance(net.head[0], nn.Linear))
x = torch.randn(3, 4)
target = torch.tensor([0, 1, 1])
loss = nn.NLLLoss()(net(x), target)
loss.backward()
counter = Counter()
counter.add(loss.item()).add(1.0)
print(counter.total, net.calls, net.training)
print(sum(p.numel() for p in net.parameters()))
print([name for name, _ in net.named_children()])
net.zero_grad()
print(net.scale.grad)
"""


def test_the_programs_own_classes_behave_as_in_python():
    assert_same(CLASSES)


CUSTOM = """
import torch

class Legendre3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        ctx.scale = 0.5
        return ctx.scale * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * ctx.scale * (15 * input ** 2 - 3)

class MulConstant(torch.autograd.Function):
    @staticmethod
    def forward(tensor, constant):
        return tensor * constant

    @staticmethod
    def setup_context(ctx, inputs, output):
        tensor, constant = inputs
        ctx.constant = constant

    @staticmethod
    def backward(ctx, grad_output):
        print(ctx.needs_input_grad)
        return grad_output * ctx.constant, None

x = torch.linspace(-1, 1, 5, requires_grad=True)
P3 = Legendre3.apply
y = P3(x)
z = MulConstant.apply(y, 3.0).sum()
z.backward()
print(y.grad_fn.name(), x.grad)
print(torch.autograd.gradcheck(Legendre3.apply, (torch.randn(3, dtype=torch.double,
                                                             requires_grad=True),)))
"""


def test_a_custom_function_runs_the_programs_backward_inside_torchs():
    expected, _ = plain(CUSTOM)
    result = engine(CUSTOM)
    assert texts_differ(expected, result.printed) is None
    x = torch.linspace(-1, 1, 5)
    assert torch.allclose(result.grads["x"], 3.0 * 0.5 * (15 * x ** 2 - 3))  # by hand
    node = next(n for n in result.graph["nodes"] if n["op"] == "Legendre3Backward")
    custom = node["custom"]
    assert custom["class"] == "Legendre3"
    assert custom["code"].lstrip().startswith("def backward(ctx, grad_output):")
    assert custom["received"][0]["shape"] == [5] and custom["returned"][0]["shape"] == [5]


def test_an_error_in_the_programs_backward_is_reported_at_its_line():
    source = ("import torch\nclass Bad(torch.autograd.Function):\n    @staticmethod\n"
              "    def forward(ctx, x):\n        return x * 2\n    @staticmethod\n"
              "    def backward(ctx, g):\n        return g * undefined_name\n"
              "x = torch.ones(2, requires_grad=True)\nBad.apply(x).sum().backward()\n")
    result = run_program(source, auto_backward=False)
    assert result.error is not None and "undefined_name" in result.error.message


def test_a_backward_returning_text_is_refused():
    source = ("import torch\nclass Bad(torch.autograd.Function):\n    @staticmethod\n"
              "    def forward(ctx, x):\n        return x * 2\n    @staticmethod\n"
              "    def backward(ctx, g):\n        return 'gradient'\n"
              "x = torch.ones(2, requires_grad=True)\nBad.apply(x).sum().backward()\n")
    result = run_program(source, auto_backward=False)
    assert result.error is not None and result.error.line == 7  # its def backward
    assert "returns a tensor" in result.error.message


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_dropout_draws_what_plain_torch_draws(p: float):
    assert_same(f"import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
                f"torch.manual_seed(5)\nx = torch.randn(4, 6, requires_grad=True)\n"
                f"d = nn.Dropout({p})\nprint(d(x))\nprint(F.dropout(x, p={p}))\n"
                f"print(F.dropout(x, p={p}, training=False))\nd.eval()\nprint(d(x))\n"
                f"print(torch.rand(2))\n")


@pytest.mark.parametrize("source, words", [
    ("from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n"
     "        self.fc = nn.Linear(2, 2)\nnet = Net()\n", "super().__init__()"),
    ("from torch import nn\nm = nn.ModuleList([nn.Linear(2, 2)])\ny = m(torch.ones(2))\n",
     "for layer in"),
    ("import torch\nclass Sq(torch.autograd.Function):\n    @staticmethod\n"
     "    def forward(ctx, x):\n        return x * x\n    @staticmethod\n"
     "    def backward(ctx, g):\n        return g\ny = Sq()(torch.ones(2))\n", "Sq.apply"),
    ("from torch import nn\nlayer = nn.Linear(2, 2)\nlayer.in_features = 5\n",
     "fixed when it is made"),
])
def test_mistakes_get_a_sentence_that_says_what_to_write(source: str, words: str):
    result = run_program(source, auto_backward=False)
    assert result.error is not None and words in result.error.message, result.error


def test_printing_modules_and_state_dicts_is_torchs_text():
    assert_same("import torch\nfrom torch import nn\ntorch.manual_seed(0)\n"
                "model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))\n"
                "print(model)\nprint(model.state_dict())\nprint(model[0].weight)\n"
                "print(list(model.parameters())[1])\nprint(type(model[0]), type(model[0].bias))\n"
                "print(type(model[1]) == nn.ReLU, type(model[1]) == nn.Linear)\n")


DATA = """
import torch
from torch.utils.data import Dataset, DataLoader, TensorDataset

class Squares(Dataset):
    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32)

    def __getitem__(self, i):
        return self.x[i], self.x[i] ** 2, int(i)

    def __len__(self):
        return len(self.x)

torch.manual_seed(SEED)
ds = TensorDataset(torch.randn(7, 2), torch.arange(7))
print(len(ds), ds[2], ds[1:3])
for xb, yb in DataLoader(ds, batch_size=3, shuffle=True):
    print(xb, yb)
loader = DataLoader(Squares(5), batch_size=2, shuffle=SHUFFLE, drop_last=True)
for epoch in range(2):
    for batch in loader:
        print(epoch, batch)
print(len(loader), len(DataLoader(ds, batch_size=3)), torch.rand(1))
"""


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("seed", [0, 123])
def test_data_loaders_give_plain_torchs_batches(seed: int, shuffle: bool):
    """Same shuffles (drawn from the run's generator as torch draws from its own), same
    stacking, and the numbers drawn after them."""
    assert_same(DATA.replace("SEED", str(seed)).replace("SHUFFLE", str(shuffle)))


def test_type_names_are_text_as_in_python():
    assert_same("import torch\nfrom torch import nn\nclass Act(nn.Module):\n"
                "    def __init__(self):\n        super().__init__()\n"
                "        self.name = self.__class__.__name__\n"
                "a = Act()\nprint(a.name, type(a).__name__, type(nn.Linear(1, 1)).__name__,\n"
                "      type(1.5).__name__, type(torch.ones(1)).__name__, "
                "type(nn.Parameter(torch.ones(1))).__name__)\n")


@pytest.mark.parametrize("source, words", [
    ("class A:\n    def __getitem__(self, i):\n        return i\n", "special methods"),
    ("from torch.utils.data import DataLoader, TensorDataset\n"
     "d = DataLoader(TensorDataset(torch.ones(2)), num_workers=2)\n", "one process"),
    ("from torch.utils.data import DataLoader\nd = DataLoader([1, 2])\n", "takes a dataset"),
    ("from torch.utils.data import Dataset, DataLoader\nclass D(Dataset):\n"
     "    def __len__(self):\n        return 'many'\nn = len(D())\n", "whole number"),
    ("k = x.__class__\n", "double-underscore"),
])
def test_data_and_type_name_mistakes_are_refused_with_a_sentence(source: str, words: str):
    result = run_program(source, {"x": 1.0}, auto_backward=False)
    assert result.error is not None and words in result.error.message, result.error
