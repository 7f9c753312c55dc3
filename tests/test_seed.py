"""The seed notebook (../shared/seed/), cell by cell, through run_program.

Expected numbers are the ones the notebook printed (an independent run of plain torch),
and hand-derived formulas; never the engine's own output.
"""

from __future__ import annotations

import math

import pytest
import torch

from engine import run_program


def run(source: str, **options):
    result = run_program(source, isolate=False, **options)
    return result


def echo(result, code: str) -> str:
    """What the notebook would display for the expression statement ``code``."""
    matches = [e["text"] for e in result.echoes if e["code"] == code]
    assert matches, f"no echo for {code!r} in {result.echoes}"
    return matches[-1]


def test_cells_1_2_plain_python_derivative_of_x_squared():
    r = run("def dy_dx(x):\n  return 2*x\n\ndy_dx(3)\n")
    assert r.error is None
    assert echo(r, "dy_dx(3)") == "6"


def test_cells_4_to_7_autograd_of_x_squared_at_3():
    r = run(
        "import torch\n"
        "x = torch.tensor(3.0, requires_grad=True)\n"
        "x\n"
        "y = x**2\n"
        "y\n"
        "y.backward()\n"
        "x.grad # as diff of x**2 is 2*x\n"
    )
    assert r.error is None
    assert echo(r, "x") == "tensor(3., requires_grad=True)"
    assert echo(r, "y") == "tensor(9., grad_fn=<PowBackward0>)"
    assert echo(r, "x.grad") == "tensor(6.)"
    assert r.grads["x"].item() == 6.0  # d(x^2)/dx = 2x = 6
    assert r.backward_called and not r.auto_backward


def test_cells_8_9_chain_rule_by_hand():
    r = run("import math\n"
            "def dz_dx(x):\n    return 2 * x * math.cos(x**2)\n"
            "dz_dx(4)\n")
    assert r.error is None
    assert float(echo(r, "dz_dx(4)")) == pytest.approx(-7.661275842587077, rel=1e-15)


def test_cells_10_to_15_sin_of_x_squared_and_non_leaf_grad():
    r = run(
        "x = torch.tensor(4.0, requires_grad=True)\n"
        "y = x ** 2\n"
        "y\n"
        "z = torch.sin(y)\n"
        "z\n"
        "z.backward()\n"
        "x.grad    #dz/dx\n"
        "y.grad    #dz/dy\n"
    )
    assert r.error is None
    assert echo(r, "y") == "tensor(16., grad_fn=<PowBackward0>)"
    assert echo(r, "z") == "tensor(-0.2879, grad_fn=<SinBackward0>)"
    assert echo(r, "x.grad") == "tensor(-7.6613)"
    assert r.grads["x"].item() == pytest.approx(2 * 4 * math.cos(16), rel=1e-5)
    # y is not a leaf: its .grad is None, with torch's warning explained.
    assert echo(r, "y.grad") == "None"
    assert any("`y.grad` is None" in w and "retain_grad()" in w for w in r.warnings)


BCE_FORWARD = """
import torch
x = torch.tensor(6.7)  # Input feature
y = torch.tensor(0.0)  # True label (binary)
w = torch.tensor(1.0)  # Weight
b = torch.tensor(0.0)  # Bias

def binary_cross_entropy_loss(prediction, target): # calculates the loss
    epsilon = 1e-8  # To prevent log(0)
    prediction = torch.clamp(prediction, epsilon, 1 - epsilon)
    return -(target * torch.log(prediction) + (1 - target) * torch.log(1 - prediction))

z = w * x + b  # Weighted sum (linear part)
y_pred = torch.sigmoid(z)  # Predicted probability
y_pred
loss = binary_cross_entropy_loss(y_pred, y)
loss
"""

BCE_MANUAL = BCE_FORWARD + """
dloss_dy_pred = (y_pred - y)/(y_pred*(1-y_pred))
dy_pred_dz = y_pred * (1 - y_pred)
dz_dw = x  # dz/dw = x
dz_db = 1  # dz/db = 1 (bias contributes directly to z)
dL_dw = dloss_dy_pred * dy_pred_dz * dz_dw
dL_db = dloss_dy_pred * dy_pred_dz * dz_db
print("Manual Gradient of loss w.r.t weight (dw):", dL_dw.item())
print("Manual Gradient of loss w.r.t bias (db):", dL_db.item())
"""

BCE_AUTOGRAD = """
x = torch.tensor(6.7)
y = torch.tensor(0.0)
w = torch.tensor(1.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
w
b
def binary_cross_entropy_loss(prediction, target):
    epsilon = 1e-8
    prediction = torch.clamp(prediction, epsilon, 1 - epsilon)
    return -(target * torch.log(prediction) + (1 - target) * torch.log(1 - prediction))
z = w*x + b
z
y_pred = torch.sigmoid(z)
y_pred
loss = binary_cross_entropy_loss(y_pred, y)
loss
loss.backward()
print(w.grad)
print(b.grad)
"""


def test_cells_16_to_21_bce_manual_chain_rule():
    r = run(BCE_MANUAL)
    assert r.error is None
    assert echo(r, "y_pred") == "tensor(0.9988)"
    assert echo(r, "loss") == "tensor(6.7012)"
    lines = r.printed.splitlines()
    dw = float(lines[0].rsplit(" ", 1)[1])
    db = float(lines[1].rsplit(" ", 1)[1])
    # The notebook printed these (float32 arithmetic, shown as Python floats).
    assert dw == pytest.approx(6.691762447357178, rel=1e-6)
    assert db == pytest.approx(0.998770534992218, rel=1e-6)
    # No tensor required grad: nothing was recorded, and the app says why.
    assert r.grads == {}
    assert any("not recorded" in w for w in r.warnings)


def test_cells_22_to_31_bce_autograd_matches_manual_chain_rule():
    r = run(BCE_AUTOGRAD)
    assert r.error is None
    assert echo(r, "w") == "tensor(1., requires_grad=True)"
    assert echo(r, "z") == "tensor(6.7000, grad_fn=<AddBackward0>)"
    assert echo(r, "y_pred") == "tensor(0.9988, grad_fn=<SigmoidBackward0>)"
    assert echo(r, "loss") == "tensor(6.7012, grad_fn=<NegBackward0>)"
    assert r.printed == "tensor(6.6918)\ntensor(0.9988)\n"
    # Hand-derived: dL/dw = (sigmoid(wx+b) - y) * x, dL/db = sigmoid(wx+b) - y.
    s = 1 / (1 + math.exp(-6.7))
    assert r.grads["w"].item() == pytest.approx(s * 6.7, rel=1e-5)
    assert r.grads["b"].item() == pytest.approx(s, rel=1e-5)
    manual = run(BCE_MANUAL).printed.splitlines()
    assert r.grads["w"].item() == pytest.approx(float(manual[0].rsplit(" ", 1)[1]), rel=1e-5)
    assert r.grads["b"].item() == pytest.approx(float(manual[1].rsplit(" ", 1)[1]), rel=1e-5)
    assert r.output_name == "loss"


def test_cells_33_to_36_vector_input_mean_of_squares():
    r = run(
        "x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
        "x\n"
        "y = (x**2).mean()\n"
        "y\n"
        "y.backward()\n"
        "x.grad\n"
    )
    assert r.error is None
    assert echo(r, "x") == "tensor([1., 2., 3.], requires_grad=True)"
    assert echo(r, "y") == "tensor(4.6667, grad_fn=<MeanBackward0>)"
    assert echo(r, "x.grad") == "tensor([0.6667, 1.3333, 2.0000])"
    # d/dx_i mean(x^2) = 2 x_i / 3
    assert r.grads["x"].tolist() == pytest.approx([2 / 3, 4 / 3, 2.0], rel=1e-6)


def test_cells_37_to_41_accumulation_and_zero():
    r = run(
        "x = torch.tensor(2.0, requires_grad=True)\n"
        "y = x ** 2\n"
        "y.backward()\n"
        "x.grad\n"
        "y = x ** 2 # repeat from here\n"
        "y.backward()\n"
        "print(x.grad)\n"
        "x.grad.zero_()\n"
    )
    assert r.error is None
    assert echo(r, "x.grad") == "tensor(4.)"
    assert r.printed == "tensor(8.)\n"  # a second backward adds 4 to the 4 already there
    assert echo(r, "x.grad.zero_()") == "tensor(0.)"
    assert r.grads["x"].item() == 0.0


def test_cells_42_to_50_requires_grad_false_stops_tracking():
    r = run(
        "x = torch.tensor(2.0, requires_grad=True)\n"
        "y = x ** 2\n"
        "y.backward()\n"
        "x.grad\n"
        "x.requires_grad_(False)\n"
        "x\n"
        "y = x ** 2\n"
        "y\n"
        "y.backward()\n"
    )
    assert echo(r, "x.grad") == "tensor(4.)"
    assert echo(r, "x.requires_grad_(False)") == "tensor(2.)"
    assert echo(r, "y") == "tensor(4.)"
    assert r.error is not None and r.error.kind == "autograd"
    assert r.error.line == 9
    assert "does not require grad and does not have a grad_fn" in r.error.message
    assert "requires_grad=False" in r.error.message


def test_cells_51_to_59_detach_stops_tracking():
    r = run(
        "x = torch.tensor(2.0, requires_grad=True)\n"
        "z = x.detach()\n"
        "z\n"
        "y = x ** 2\n"
        "y\n"
        "y1 = z ** 2\n"
        "y1\n"
        "y.backward()\n"
        "x.grad\n"
        "y1.backward()\n"
    )
    assert echo(r, "z") == "tensor(2.)"
    assert echo(r, "y") == "tensor(4., grad_fn=<PowBackward0>)"
    assert echo(r, "y1") == "tensor(4.)"
    assert echo(r, "x.grad") == "tensor(4.)"
    assert r.error is not None and r.error.kind == "autograd" and r.error.line == 10
    assert "does not have a grad_fn" in r.error.message
    assert "detach" in r.error.message
    steps = {s["target"]: s for s in r.graph["dataflow"]}
    # y1 was not detached itself: it was computed only from z, which was (line 2)
    assert steps["z"]["reason"] == "detach" and steps["y1"]["reason"] == "from_untracked"
    assert [(s["name"], s["line"], s["reason"]) for s in steps["y1"]["sources"]] == \
        [("z", 2, "detach")]
    assert steps["y"]["tracked"] is True


def test_cells_60_to_72_no_grad_stops_tracking():
    r = run(
        "x = torch.tensor(2.0, requires_grad=True)\n"
        "with torch.no_grad():\n"
        "    y = x**2\n"
        "y # gradient tracking is off\n"
        "y.backward()\n"
    )
    assert echo(r, "y") == "tensor(4.)"
    assert r.error is not None and r.error.kind == "autograd" and r.error.line == 5
    assert "torch.no_grad()" in r.error.message
    assert torch.is_grad_enabled()  # the block's grad mode did not leak


# -- the cells as the notebook has them, verbatim (try/except and f-strings included) ----
def test_cell_21_f_string_prints_the_tensors_as_the_notebook_did():
    source = BCE_MANUAL.split("print(")[0] + (
        'print(f"Manual Gradient of loss w.r.t weight (dw): {dL_dw}")\n'
        'print(f"Manual Gradient of loss w.r.t bias (db): {dL_db}")\n')
    r = run(source)
    assert r.error is None, r.error
    # What the notebook printed (In [21]): a 0-dim tensor formats as its number.
    assert r.printed == ("Manual Gradient of loss w.r.t weight (dw): 6.691762447357178\n"
                         "Manual Gradient of loss w.r.t bias (db): 0.998770534992218\n")


SEED_CELLS_42_TO_59 = '''x = torch.tensor(2.0, requires_grad=True)
y = x ** 2
y.backward()
x.grad
x.requires_grad_(False)
x
y = x ** 2
y
try:
    y.backward()
except:
    print("RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn")
x = torch.tensor(2.0, requires_grad=True)
x
z = x.detach()
z
y = x ** 2
y
y1 = z ** 2
y1
y.backward()
x.grad
try:
    y1.backward() # error
    z.grad
except:
    print("RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn")
z.grad
'''


def test_cells_42_to_59_run_verbatim_with_their_try_except():
    """The notebook's own cells, try/except included: the backward that fails is caught
    by the program, as in the notebook, and the run goes on."""
    r = run(SEED_CELLS_42_TO_59)
    assert r.error is None, r.error
    message = ("RuntimeError: element 0 of tensors does not require grad and does not have "
               "a grad_fn\n")
    assert r.printed == message * 2  # what the notebook printed under In [50] and In [57]
    assert echo(r, "y1") == "tensor(4.)"
    assert echo(r, "x.grad") == "tensor(4.)"
    assert r.grads["x"].item() == 4.0  # d(x^2)/dx at 2; the caught backward added nothing


def test_caught_backward_error_prints_torchs_own_text():
    r = run("x = torch.tensor(2.0)\ny = x ** 2\ntry:\n    y.backward()\n"
            "except RuntimeError as e:\n    print(e)\n")
    assert r.error is None, r.error
    plain = torch.tensor(2.0) ** 2
    with pytest.raises(RuntimeError) as caught:
        plain.backward()
    assert r.printed == f"{caught.value}\n"
