"""The path on the landscape: a training step's loss over one or two parameters, against the
same loss computed in plain torch right here (the training loop rerun by hand for the
steps' parameter values, then the loss formula at every point), and the refusals with
their sentences for programs whose steps do not share one loss function."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import Limits, run_program
from engine.teaching.landscape import (
    LandscapeProgram,
    LandscapeRefusal,
    landscape_program,
    loss_curve,
    loss_grid,
)
from tests.corpus import programs

XS = [0.5, 1.5, 2.0, 3.0, 3.5, 4.5]
YS = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
DATA = f"xs = torch.tensor({XS})\nys = torch.tensor({YS})\n"
PARAMS = ("w = torch.tensor(0.0, requires_grad=True)\n"
          "b = torch.tensor(0.0, requires_grad=True)\n")
UPDATE = ("    with torch.no_grad():\n"
          "        w -= lr * w.grad\n"
          "        b -= lr * b.grad\n"
          "    w.grad.zero_()\n"
          "    b.grad.zero_()\n")
NEURON = (DATA + PARAMS + "lr = 0.5\nfor step in range(60):\n"
          "    z = w * xs + b\n"
          "    p = torch.sigmoid(z)\n"
          "    loss = F.binary_cross_entropy(p, ys)\n"
          "    loss.backward()\n" + UPDATE)
OPTIMIZER = (DATA + PARAMS + "opt = torch.optim.SGD([w, b], lr=0.5)\n"
             "for step in range(40):\n"
             "    opt.zero_grad()\n"
             "    loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)\n"
             "    loss.backward()\n"
             "    opt.step()\n")


def bce(w: torch.Tensor | float, b: torch.Tensor | float) -> torch.Tensor:
    """The neuron's loss in plain torch (float32), broadcasting over w and b."""
    xs, ys = torch.tensor(XS), torch.tensor(YS)
    w = torch.as_tensor(w, dtype=torch.float32)[..., None]
    b = torch.as_tensor(b, dtype=torch.float32)[..., None]
    p = torch.sigmoid(w * xs + b)
    return F.binary_cross_entropy(p, ys.expand_as(p), reduction="none").mean(-1)


def plain_path(steps: int, lr: float = 0.5, optimizer: bool = False,
               ) -> list[tuple[float, float, float]]:
    """(w, b, loss) at every step, the training loop in plain torch."""
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr) if optimizer else None
    seen = []
    for _ in range(steps):
        if opt is not None:
            opt.zero_grad()
        loss = F.binary_cross_entropy(torch.sigmoid(w * torch.tensor(XS) + b),
                                      torch.tensor(YS))
        loss.backward()
        seen.append((w.item(), b.item(), loss.item()))
        if opt is not None:
            opt.step()
            continue
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return seen


def train(source: str) -> list[dict]:
    result = run_program(source, isolate=False)
    assert result.error is None, result.error
    return result.training


def program(source: str, step: int, params: list[str], **kw) -> LandscapeProgram:
    made = landscape_program(source, train(source), step, params, isolate=False, **kw)
    assert isinstance(made, LandscapeProgram), made
    return made


def refusal(source: str, step: int, params: list[str]) -> str:
    made = landscape_program(source, train(source), step, params, isolate=False)
    assert isinstance(made, LandscapeRefusal), made
    assert made.message.endswith(".") and (made.message[0].isupper() or made.message[0] == "`")
    return made.message


def assert_close(got: np.ndarray, want: np.ndarray | torch.Tensor) -> None:
    want = want.numpy() if isinstance(want, torch.Tensor) else want
    np.testing.assert_allclose(got, want.astype(np.float64), rtol=1e-5, atol=1e-6)


# -- one parameter: the curve -------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 2, 17, 60])
def test_curve_is_the_loss_over_w_with_b_at_the_step(step):
    made = program(NEURON, step, ["w"])
    w_k, b_k, loss_k = plain_path(60)[step - 1]
    assert made.values == pytest.approx((w_k,), rel=1e-6, abs=1e-7)
    assert made.loss == pytest.approx(loss_k, rel=1e-6)
    xs, ys = loss_curve(made, -3.0, 4.0, 71, isolate=False)
    assert xs[0] == -3.0 and xs[-1] == 4.0 and len(xs) == 71
    assert_close(ys, bce(torch.tensor(xs, dtype=torch.float32), b_k))


def test_curve_default_range_holds_the_whole_path_with_a_margin():
    made = program(NEURON, 30, ["w"])
    ws = [w for w, _, _ in plain_path(60)]
    lo, hi = made.ranges[0]
    assert lo < min(ws) and hi > max(ws)
    assert min(ws) - lo == pytest.approx(0.25 * (max(ws) - min(ws)), rel=1e-5)
    xs, ys = loss_curve(made, isolate=False)
    assert (xs[0], xs[-1], len(xs)) == (pytest.approx(lo), pytest.approx(hi), 201)
    assert_close(ys, bce(torch.tensor(xs, dtype=torch.float32), plain_path(60)[29][1]))


def test_the_path_is_the_steps_of_the_training_loop():
    made = program(NEURON, 12, ["w"])
    plain = plain_path(60)
    assert made.path_steps == tuple(range(1, 61)) and made.chosen == 12
    for (w, loss), (w_plain, _, loss_plain) in zip(made.path, plain, strict=True):
        assert w == pytest.approx(w_plain, rel=1e-6, abs=1e-7)
        assert loss == pytest.approx(loss_plain, rel=1e-6)


ONLY_W = (DATA + "w = torch.tensor(-1.0, requires_grad=True)\n"
          "for step in range(30):\n"
          "    loss = F.binary_cross_entropy(torch.sigmoid(w * xs - 4.0), ys)\n"
          "    loss.backward()\n"
          "    with torch.no_grad():\n"
          "        w -= 2.0 * w.grad\n"
          "    w.grad.zero_()\n")


def test_one_parameter_curve_passes_through_every_step():
    """With w the only parameter, every step's (w_k, loss_k) lies on the same curve."""
    w = torch.tensor(-1.0, requires_grad=True)
    plain = []
    for _ in range(30):
        loss = bce(w, -4.0)
        loss.backward()
        plain.append((w.item(), loss.item()))
        with torch.no_grad():
            w -= 2.0 * w.grad
        w.grad.zero_()
    for step in (1, 9, 30):
        made = program(ONLY_W, step, ["w"])
        for w_k, loss_k in plain:  # the curve evaluated exactly at each step's w
            xs, ys = loss_curve(made, w_k, w_k + 1e-3, 2, isolate=False)
            assert xs[0] == pytest.approx(w_k, rel=1e-7)
            assert ys[0] == pytest.approx(loss_k, rel=1e-5)
        xs, ys = loss_curve(made, n=4001, isolate=False)  # and the drawn curve, between
        ws, losses = np.array(plain).T
        np.testing.assert_allclose(np.interp(ws, xs, ys), losses, rtol=1e-4)


# -- two parameters: the grid -------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 25, 60])
def test_grid_is_the_loss_over_w_and_b(step):
    made = program(NEURON, step, ["w", "b"])
    xs, ys, grid = loss_grid(made, (-2.0, 3.0), (-4.0, 1.0), 41, isolate=False)
    assert grid.shape == (41, 41) and len(xs) == len(ys) == 41
    np.testing.assert_allclose(xs, np.linspace(-2, 3, 41), atol=1e-6)
    np.testing.assert_allclose(ys, np.linspace(-4, 1, 41), atol=1e-6)
    w = torch.tensor(xs, dtype=torch.float32)[None, :]
    b = torch.tensor(ys, dtype=torch.float32)[:, None]
    assert_close(grid, bce(w, b))  # grid[i, j] at w = xs[j], b = ys[i]
    plain = plain_path(60)
    assert made.path == [pytest.approx((w, b), rel=1e-6, abs=1e-7) for w, b, _ in plain]


def test_grid_default_ranges_hold_the_path():
    made = program(NEURON, 60, ["w", "b"])
    xs, ys, grid = loss_grid(made, isolate=False)
    for values, axis in ((xs, 0), (ys, 1)):
        path = [p[axis] for p in made.path]
        assert values[0] < min(path) and values[-1] > max(path)
    assert_close(grid, bce(torch.tensor(xs, dtype=torch.float32)[None, :],
                           torch.tensor(ys, dtype=torch.float32)[:, None]))


THREE = (DATA + "w = torch.tensor(0.0, requires_grad=True)\n"
         "b = torch.tensor(0.0, requires_grad=True)\n"
         "s = torch.tensor(1.0, requires_grad=True)\n"
         "for step in range(25):\n"
         "    loss = F.binary_cross_entropy(torch.sigmoid(s * (w * xs + b)), ys)\n"
         "    loss.backward()\n"
         "    with torch.no_grad():\n"
         "        for t in (w, b, s):\n"
         "            t -= 0.3 * t.grad\n"
         "            t.grad.zero_()\n")


def test_the_parameters_not_drawn_are_held_at_the_step():
    """Three parameters: the grid over (w, b) holds s at the chosen step's value, and the
    curve over s holds w and b there; s_k from the loop rerun in plain torch."""
    w, b, s = (torch.tensor(v, requires_grad=True) for v in (0.0, 0.0, 1.0))
    seen = []
    for _ in range(25):
        loss = F.binary_cross_entropy(torch.sigmoid(s * (w * torch.tensor(XS) + b)),
                                      torch.tensor(YS))
        loss.backward()
        seen.append((w.item(), b.item(), s.item()))
        with torch.no_grad():
            for t in (w, b, s):
                t -= 0.3 * t.grad
                t.grad.zero_()
    w_k, b_k, s_k = seen[19]

    def reference(w, b, s):
        z = torch.as_tensor(s)[..., None] * (torch.as_tensor(w)[..., None]
                                             * torch.tensor(XS) + torch.as_tensor(b)[..., None])
        p = torch.sigmoid(z)
        return F.binary_cross_entropy(p, torch.tensor(YS).expand_as(p),
                                      reduction="none").mean(-1)

    made = program(THREE, 20, ["w", "b"])
    xs, ys, grid = loss_grid(made, (-1.0, 2.0), (-3.0, 1.0), 21, isolate=False)
    assert_close(grid, reference(torch.tensor(xs, dtype=torch.float32)[None, :],
                                 torch.tensor(ys, dtype=torch.float32)[:, None], s_k))
    xs, ys = loss_curve(made, -3.0, 1.0, 21, param="b", isolate=False)
    assert_close(ys, reference(w_k, torch.tensor(xs, dtype=torch.float32), s_k))
    assert isinstance(loss_curve(made, param="s", isolate=False), LandscapeRefusal)
    made = program(THREE, 20, ["s"])
    xs, ys = loss_curve(made, 0.0, 3.0, 31, isolate=False)
    assert_close(ys, reference(w_k, b_k, torch.tensor(xs, dtype=torch.float32)))


# -- an optimizer ---------------------------------------------------------------------------


def test_an_optimizer_loop_works():
    plain = plain_path(40, optimizer=True)
    for step in (1, 15, 40):
        w_k, b_k, loss_k = plain[step - 1]
        made = program(OPTIMIZER, step, ["w"])
        assert made.loss == pytest.approx(loss_k, rel=1e-6)
        xs, ys = loss_curve(made, -1.0, 3.0, 41, isolate=False)
        assert_close(ys, bce(torch.tensor(xs, dtype=torch.float32), b_k))
        made = program(OPTIMIZER, step, ["w", "b"])
        xs, ys, grid = loss_grid(made, (-1.0, 3.0), (-3.0, 1.0), 17, isolate=False)
        assert_close(grid, bce(torch.tensor(xs, dtype=torch.float32)[None, :],
                               torch.tensor(ys, dtype=torch.float32)[:, None]))
        assert made.path == [pytest.approx((w, b), rel=1e-6, abs=1e-7)
                             for w, b, _ in plain]


ADAM_PRINTING = (DATA + PARAMS + "opt = torch.optim.Adam([w, b], lr=0.1)\n"
                 "for step in range(20):\n"
                 "    opt.zero_grad()\n"
                 "    loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)\n"
                 "    if step % 5 == 0:\n"
                 "        print(step, loss.item())\n"
                 "    loss.backward()\n"
                 "    opt.step()\n")


def test_adam_with_a_print_of_the_step_in_the_loop():
    """A print that reads the loop counter does not change the loss: it is left out."""
    w, b = torch.tensor(0.0, requires_grad=True), torch.tensor(0.0, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.1)
    for _ in range(12):
        opt.zero_grad()
        bce(w, b).backward()
        b_k = b.item()
        opt.step()
    made = program(ADAM_PRINTING, 12, ["w"])
    assert "print" not in made.forward
    xs, ys = loss_curve(made, -1.0, 2.0, 31, isolate=False)
    assert_close(ys, bce(torch.tensor(xs, dtype=torch.float32), b_k))


RANDOM_DATA = ("torch.manual_seed(3)\nxs = torch.randn(10)\nys = (xs > 0).float()\n"
               "w = torch.randn(1, requires_grad=True)\n"
               "b = torch.zeros(1, requires_grad=True)\n"
               "for step in range(8):\n"
               "    loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)\n"
               "    loss.backward()\n" + UPDATE.replace("lr", "0.5"))


def test_random_data_drawn_before_the_loop_is_the_same_data():
    """Parameters of shape [1]; the data drawn before the loop, as plain torch draws it."""
    with torch.random.fork_rng():
        torch.manual_seed(3)
        xs = torch.randn(10)
        w = torch.randn(1, requires_grad=True)
    ys = (xs > 0).float()
    b = torch.zeros(1, requires_grad=True)
    for _ in range(5):
        F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys).backward()
        b_k = b.item()
        with torch.no_grad():
            w -= 0.5 * w.grad
            b -= 0.5 * b.grad
        w.grad.zero_()
        b.grad.zero_()
    made = program(RANDOM_DATA, 5, ["w"])
    grid = torch.linspace(-2.0, 2.0, 21)
    xs_curve, ys_curve = loss_curve(made, -2.0, 2.0, 21, isolate=False)
    want = torch.stack([F.binary_cross_entropy(torch.sigmoid(g * xs + b_k), ys)
                        for g in grid])
    assert_close(ys_curve, want)


def test_a_grid_too_big_for_one_pass_is_computed_in_batches_of_rows():
    """A budget of 5 numbers per point for 41 x 41 points is less than the data's 6: the
    grid comes in smaller batches of rows, with the same numbers as plain torch."""
    made = program(NEURON, 20, ["w", "b"])
    small = Limits(max_curve_elements=41 * 41 * 5)
    xs, ys, grid = loss_grid(made, (-1.0, 2.0), (-2.0, 1.0), 41, limits=small,
                             isolate=False)
    assert_close(grid, bce(torch.tensor(xs, dtype=torch.float32)[None, :],
                           torch.tensor(ys, dtype=torch.float32)[:, None]))
    tiny = Limits(max_curve_elements=41)
    refused = loss_grid(made, n=41, limits=tiny, isolate=False)
    assert isinstance(refused, LandscapeRefusal) and "elements" in refused.message


def test_a_parameter_from_an_input_box():
    """The Playground's input boxes: w is an input the loop trains."""
    source = ("for step in range(6):\n    loss = (w * 3.0 - 1.0) ** 2\n    loss.backward()\n"
              "    with torch.no_grad():\n        w -= 0.05 * w.grad\n    w.grad.zero_()\n")
    result = run_program(source, {"w": "1.5"}, isolate=False)
    assert result.error is None
    w, seen = torch.tensor(1.5, requires_grad=True), []
    for _ in range(6):
        loss = (w * 3.0 - 1.0) ** 2
        loss.backward()
        seen.append((w.item(), loss.item()))
        with torch.no_grad():
            w -= 0.05 * w.grad
        w.grad.zero_()
    made = landscape_program(source, result.training, 4, ["w"], {"w": "1.5"}, isolate=False)
    assert isinstance(made, LandscapeProgram), made
    assert made.path == [pytest.approx(p, rel=1e-6) for p in seen]
    xs, ys = loss_curve(made, -1.0, 2.0, 13, isolate=False)
    assert_close(ys, (torch.tensor(xs, dtype=torch.float32) * 3.0 - 1.0) ** 2)


def test_worker_pool_gives_the_same_numbers():
    made = landscape_program(NEURON, train(NEURON), 10, ["w", "b"])
    assert isinstance(made, LandscapeProgram)
    here = program(NEURON, 10, ["w", "b"])
    assert made == here
    np.testing.assert_array_equal(loss_curve(made, -1, 2, 11)[1],
                                  loss_curve(here, -1, 2, 11, isolate=False)[1])
    np.testing.assert_array_equal(loss_grid(made, n=9)[2],
                                  loss_grid(here, n=9, isolate=False)[2])


# -- refusals ---------------------------------------------------------------------------------

TENSOR_PARAM = ("xs = torch.tensor([[0.5, 1.0], [1.5, 0.2], [2.0, 1.0]])\n"
                "ys = torch.tensor([0.0, 1.0, 1.0])\n"
                "W = torch.zeros(2, requires_grad=True)\n"
                "b = torch.tensor(0.0, requires_grad=True)\n"
                "for step in range(5):\n"
                "    loss = F.binary_cross_entropy(torch.sigmoid(xs @ W + b), ys)\n"
                "    loss.backward()\n"
                "    with torch.no_grad():\n"
                "        W -= 0.5 * W.grad\n"
                "        b -= 0.5 * b.grad\n"
                "    W.grad.zero_()\n"
                "    b.grad.zero_()\n")


def test_refuses_a_parameter_that_is_not_one_number():
    message = refusal(TENSOR_PARAM, 3, ["W"])
    assert "`W` has 2 numbers" in message and "one number at a time" in message


def test_a_small_tensor_parameter_is_held_at_the_step_when_another_is_drawn():
    """W has two numbers: not drawable itself, but the step records all of them, so a
    curve over b holds W at the step's values (W_k from plain torch)."""
    xs = torch.tensor([[0.5, 1.0], [1.5, 0.2], [2.0, 1.0]])
    ys = torch.tensor([0.0, 1.0, 1.0])
    W = torch.zeros(2, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    for _ in range(4):
        F.binary_cross_entropy(torch.sigmoid(xs @ W + b), ys).backward()
        W_k = W.detach().clone()
        with torch.no_grad():
            W -= 0.5 * W.grad
            b -= 0.5 * b.grad
        W.grad.zero_()
        b.grad.zero_()
    made = program(TENSOR_PARAM, 4, ["b"])
    curve_xs, curve_ys = loss_curve(made, -2.0, 2.0, 21, isolate=False)
    want = torch.stack([F.binary_cross_entropy(torch.sigmoid(xs @ W_k + bb), ys)
                        for bb in torch.tensor(curve_xs, dtype=torch.float32)])
    assert_close(curve_ys, want)


BIG_TENSOR = (DATA + "W = torch.zeros(10, requires_grad=True)\n"
              "b = torch.tensor(0.0, requires_grad=True)\n"
              "for step in range(5):\n"
              "    loss = F.binary_cross_entropy(torch.sigmoid(W.sum() * xs + b), ys)\n"
              "    loss.backward()\n"
              "    with torch.no_grad():\n"
              "        W -= 0.5 * W.grad\n"
              "        b -= 0.5 * b.grad\n"
              "    W.grad.zero_()\n"
              "    b.grad.zero_()\n")


def test_refuses_when_a_large_tensor_the_loop_changes_feeds_the_loss():
    message = refusal(BIG_TENSOR, 3, ["b"])
    assert "`W`, a tensor of 10 numbers that the loop changes" in message


def test_refuses_a_loss_that_reads_the_loop_counter():
    source = NEURON.replace("loss = F.binary_cross_entropy(p, ys)",
                            "loss = F.binary_cross_entropy(p, ys) * (1 + step)")
    message = refusal(source, 5, ["w"])
    assert "`step`, which the loop sets anew each time round (for step in ..." in message
    assert "no one landscape" in message


def test_refuses_a_loss_that_reads_a_counter_the_loop_counts_itself():
    source = NEURON.replace("lr = 0.5\n", "lr = 0.5\nt = 0\n").replace(
        "loss = F.binary_cross_entropy(p, ys)", "loss = F.binary_cross_entropy(p, ys) * t"
    ) + "    t += 1\n"
    message = refusal(source, 5, ["w"])
    assert "`t`, which the loop changes each time round (line 17)" in message


def test_verification_catches_what_the_tree_does_not_show():
    """The data changed in place after each update, and noise drawn in the loop: the
    derived program's loss differs from the recorded one, so no landscape."""
    in_place = NEURON.replace("        b -= lr * b.grad\n",
                              "        b -= lr * b.grad\n        xs.mul_(1.1)\n")
    for source, step in ((in_place, 5),
                         (NEURON.replace("    z = w * xs + b\n",
                                         "    z = w * (xs + 0.1 * torch.randn(6)) + b\n"),
                          3)):
        message = refusal(source, step, ["w"])
        assert "but the run recorded" in message
        assert "depends on something else that changes from step to step" in message


def test_verification_checks_more_than_the_chosen_step():
    """At step 1 the in-place change has not happened yet: the chosen step alone would
    match, but the path's last step does not."""
    in_place = NEURON.replace("        b -= lr * b.grad\n",
                              "        b -= lr * b.grad\n        xs.mul_(1.1)\n")
    message = refusal(in_place, 1, ["w"])
    assert "at step 60" in message


LOADER = (DATA + PARAMS
          + "loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), "
            "batch_size=2)\n"
            "opt = torch.optim.SGD([w, b], lr=0.5)\n"
            "for xb, yb in loader:\n"
            "    opt.zero_grad()\n"
            "    loss = F.binary_cross_entropy(torch.sigmoid(w * xb + b), yb)\n"
            "    loss.backward()\n"
            "    opt.step()\n")


def test_refuses_a_data_loader_loop():
    message = refusal(LOADER, 2, ["w"])
    assert "`xb`, which the loop sets anew each time round (for xb, yb in ..." in message
    epochs = LOADER.replace("for xb, yb in loader:\n", "for epoch in range(2):\n"
                            "  for xb, yb in loader:\n")
    assert "loop within a loop" in refusal(epochs, 2, ["w"])


def test_refuses_a_program_without_a_loop():
    source = DATA + PARAMS + ("loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)\n"
                              "loss.backward()\n")
    message = refusal(source, 1, ["w"])
    assert message.startswith("The backward() call on line 6 is not inside a loop")


def test_refuses_unknown_and_badly_chosen_parameters():
    training = train(NEURON)
    cases = [(["q"], "There is no parameter called `q` at step 3; the parameters there "
                     "are: w, b."),
             (["w", "w"], "two different ones"),
             (["w", "b", "w"], "two different ones"),
             ([], "Pick one parameter")]
    for params, expected in cases:
        made = landscape_program(NEURON, training, 3, params, isolate=False)
        assert isinstance(made, LandscapeRefusal) and expected in made.message
    for step in (0, 61, -1, True, 2.0):
        made = landscape_program(NEURON, training, step, ["w"], isolate=False)
        assert isinstance(made, LandscapeRefusal)
        assert "steps 1 to 60" in made.message
    made = landscape_program(NEURON, [], 1, ["w"], isolate=False)
    assert isinstance(made, LandscapeRefusal) and "did not call backward()" in made.message


def test_refuses_a_layers_parameter():
    source = ("xs = torch.tensor([[0.5], [1.5], [3.0]])\nys = torch.tensor([[0.0], [0.0], [1.0]])\n"
              "model = torch.nn.Linear(1, 1)\n"
              "opt = torch.optim.SGD(model.parameters(), lr=0.5)\n"
              "for step in range(4):\n"
              "    opt.zero_grad()\n"
              "    loss = F.binary_cross_entropy(torch.sigmoid(model(xs)), ys)\n"
              "    loss.backward()\n"
              "    opt.step()\n")
    assert "is a parameter of a layer" in refusal(source, 2, ["model.weight"])


def test_refuses_a_parameter_made_anew_in_the_loop():
    source = (DATA + "for step in range(3):\n"
              "    w = torch.tensor(0.5, requires_grad=True)\n"
              "    loss = F.binary_cross_entropy(torch.sigmoid(w * xs), ys)\n"
              "    loss.backward()\n")
    assert "`w` is assigned again inside the loop before the loss (line 4)" in \
        refusal(source, 2, ["w"])


def test_a_contour_needs_two_parameters():
    made = program(NEURON, 2, ["w"])
    got = loss_grid(made, isolate=False)
    assert isinstance(got, LandscapeRefusal) and "two parameters" in got.message


def test_bad_ranges_are_refused_not_raised():
    made = program(NEURON, 2, ["w", "b"])
    for lo, hi in ((1.0, 1.0), (2.0, 1.0), (float("nan"), 1.0)):
        assert isinstance(loss_curve(made, lo, hi, isolate=False), LandscapeRefusal)
        assert isinstance(loss_grid(made, (lo, hi), isolate=False), LandscapeRefusal)
    assert isinstance(loss_curve(made, n=1, isolate=False), LandscapeRefusal)
    assert isinstance(loss_grid(made, n=1, isolate=False), LandscapeRefusal)
    assert isinstance(loss_grid(made, n=5000, isolate=False), LandscapeRefusal)


# -- odd programs: a landscape checked against the run, or a refusal, never a crash -----------

LOSS = "    loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)\n"
ODD = {
    "nested for": DATA + PARAMS + "for i in range(2):\n  for j in range(2):\n  " + LOSS
                  + "      loss.backward()\n",
    "while": DATA + PARAMS + "k = 0\nwhile k < 4:\n" + LOSS + "    loss.backward()\n"
             + UPDATE.replace("lr", "0.5") + "    k += 1\n",
    "while True with break": DATA + PARAMS + "k = 0\nwhile True:\n" + LOSS
                             + "    loss.backward()\n" + UPDATE.replace("lr", "0.5")
                             + "    k += 1\n    if k >= 3:\n        break\n",
    "def in the loop": DATA + PARAMS + "def step_once():\n" + LOSS + "    loss.backward()\n"
                       "for i in range(3):\n    step_once()\n",
    "def defined in the loop": DATA + PARAMS + "for i in range(3):\n    def f():\n    "
                               + LOSS + "        loss.backward()\n    f()\n",
    "try around the loop": DATA + PARAMS + "try:\n    for i in range(3):\n    " + LOSS
                           + "        loss.backward()\nexcept RuntimeError:\n    pass\n",
    "try in the body": DATA + PARAMS + "for i in range(3):\n    try:\n    " + LOSS
                       + "        loss.backward()\n    except RuntimeError:\n        pass\n"
                       + UPDATE.replace("lr", "0.5"),
    "with around the loop": DATA + PARAMS + "with torch.enable_grad():\n"
                            "    for i in range(3):\n    " + LOSS
                            + "        loss.backward()\n",
    "with in the body": DATA + PARAMS + "for i in range(3):\n    with torch.enable_grad():\n"
                        "    " + LOSS + "    loss.backward()\n" + UPDATE.replace("lr", "0.5"),
    "if around backward": DATA + PARAMS + "for i in range(4):\n" + LOSS
                          + "    if i % 2 == 0:\n        loss.backward()\n",
    "backward in for-else": DATA + PARAMS + "for i in range(2):\n    pass\nelse:\n    "
                            + LOSS.strip() + "\n    loss.backward()\n",
    "one line": DATA + PARAMS + "for i in range(3): loss = (w * xs + b).pow(2).mean(); "
                "loss.backward()\n",
    "unnamed loss": DATA + PARAMS + "for i in range(3):\n"
                    "    (w * xs + b - ys).pow(2).mean().backward()\n"
                    + UPDATE.replace("lr", "0.1"),
    "two backward per step": DATA + PARAMS + "for i in range(3):\n" + LOSS
                             + "    loss.backward()\n    other = (w - 1) ** 2\n"
                             "    other.backward()\n" + UPDATE.replace("lr", "0.1"),
    "backward before the loop too": DATA + PARAMS + LOSS.strip() + "\nloss.backward()\n"
                                    "for i in range(3):\n" + LOSS + "    loss.backward()\n"
                                    + UPDATE.replace("lr", "0.1"),
    "item in the loss": DATA + PARAMS + "for i in range(3):\n"
                        "    scale = w.item()\n" + LOSS.replace("ys)", "ys) * scale")
                        + "    loss.backward()\n" + UPDATE.replace("lr", "0.1"),
    "branch on the loss": DATA + PARAMS + "for i in range(3):\n" + LOSS
                          + "    if loss > 0.5:\n        loss = loss * 2\n"
                          "    loss.backward()\n" + UPDATE.replace("lr", "0.1"),
    "walrus and comprehension": DATA + PARAMS + "for i in range(3):\n"
                                "    parts = [(w * x + b) ** 2 for x in xs]\n"
                                "    loss = (total := sum(parts)) / 6\n"
                                "    loss.backward()\n" + UPDATE.replace("lr", "0.01"),
    "alias of a parameter": DATA + PARAMS + "v = w\nfor i in range(3):\n"
                            + LOSS.replace("w * xs", "v * xs") + "    loss.backward()\n"
                            + UPDATE.replace("lr", "0.5"),
    "lambda loss": DATA + PARAMS + "f = lambda a: (a * xs + b).pow(2).mean()\n"
                   "for i in range(3):\n    loss = f(w)\n    loss.backward()\n"
                   + UPDATE.replace("lr", "0.1"),
    "class of its own": DATA + PARAMS + "class Box:\n    pass\nfor i in range(3):\n"
                        + LOSS + "    loss.backward()\n",
    "names like ours": DATA + PARAMS + "w_at_step = 3.0\ngrid_index = 1\n"
                       "for i in range(3):\n"
                       + LOSS.replace("+ b)", "+ b + grid_index - w_at_step + 2)")
                       + "    loss.backward()\n" + UPDATE.replace("lr", "0.5"),
    "zero at the top": DATA + PARAMS + "for i in range(3):\n"
                       "    if w.grad is not None:\n        w.grad.zero_()\n"
                       "        b.grad.zero_()\n" + LOSS + "    loss.backward()\n"
                       "    with torch.no_grad():\n        w -= 0.5 * w.grad\n"
                       "        b -= 0.5 * b.grad\n",
    "growing list": DATA + PARAMS + "seen = []\nfor i in range(3):\n" + LOSS
                    + "    seen.append(loss)\n    loss.backward()\n"
                    + UPDATE.replace("lr", "0.5"),
}
# Which odd programs draw (their loss is one function of w and b at every step).
DRAWS = {"while", "while True with break", "with in the body", "item in the loss",
         "zero at the top",
         "if around backward", "one line", "unnamed loss", "two backward per step",
         "backward before the loop too", "walrus and comprehension", "lambda loss",
         "class of its own", "names like ours", "growing list"}


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_programs_draw_or_refuse_with_a_sentence(name):
    source = ODD[name]
    result = run_program(source, isolate=False)
    assert result.error is None, result.error
    training = result.training
    drew = False
    for step in sorted({1, 2, len(training)}):
        for params in (["w"], ["b"], ["w", "b"], ["b", "w"], ["nope"]):
            made = landscape_program(source, training, step, params, isolate=False)
            if isinstance(made, LandscapeRefusal):
                assert made.message.endswith(".") and len(made.message) > 30
                continue
            assert isinstance(made, LandscapeProgram)
            drew = True
            # independently of the check inside: at the step's own values the curve gives
            # the loss the run recorded
            record = training[step - 1]
            at = made.values[0]
            xs, ys = loss_curve(made, at, at + 1e-3, 2, isolate=False)
            assert math.isclose(ys[0], record["loss"], rel_tol=1e-5, abs_tol=1e-7)
            assert made.path_steps[made.chosen - 1] == step
            assert all(training[k - 1]["line"] == record["line"] for k in made.path_steps)
            if len(params) == 2:
                grid = loss_grid(made, n=5, isolate=False)
                assert not isinstance(grid, LandscapeRefusal), grid
                assert np.isfinite(grid[2]).all()
    assert drew == (name in DRAWS), name


def test_odd_programs_refuse_with_the_sentences_that_say_why():
    def why(name: str, params: list[str] | None = None) -> str:
        made = landscape_program(ODD[name], train(ODD[name]), 1, params or ["w"],
                                 isolate=False)
        assert isinstance(made, LandscapeRefusal), name
        return made.message

    assert "loop within a loop" in why("nested for")
    assert "inside the function `step_once`" in why("def in the loop")
    assert "inside the function `f`" in why("def defined in the loop")
    assert "inside a try block" in why("try around the loop")
    assert "inside a with block" in why("with around the loop")
    assert "not in the loop's body" in why("backward in for-else")
    assert "computed inside the block that calls backward()" in why("try in the body")
    assert "plain number" in why("item in the loss")
    assert "cannot be drawn" in why("branch on the loss")
    assert "depends on something else" in why("alias of a parameter")


def test_corpus_programs_that_train_draw_or_refuse():
    """Every tutorial program in tests/corpus that calls backward() more than once: for
    its single-number parameters, a landscape whose curve gives the recorded loss at the
    step's own values, or a refusal with a sentence."""
    drawn, refused = set(), set()
    for path in programs():
        source = path.read_text()
        result = run_program(source, isolate=False)
        if result.error is not None or len(result.training) < 2:
            continue
        training = result.training
        singles = [name for name, leaf in training[-1]["leaves"].items()
                   if leaf["value"] is not None and math.prod(leaf["value"]["shape"]) == 1]
        for step in sorted({1, len(training)}):
            for params in [[name] for name in singles[:2]] + [singles[:2]] * (len(singles) > 1):
                made = landscape_program(source, training, step, params, isolate=False)
                if isinstance(made, LandscapeRefusal):
                    assert made.message.endswith(".") and len(made.message) > 30
                    refused.add(path.stem)
                    continue
                drawn.add(path.stem)
                at = made.values[0]
                _, ys = loss_curve(made, at, at + 1e-3 * max(1.0, abs(at)), 2, isolate=False)
                assert math.isclose(ys[0], training[step - 1]["loss"], rel_tol=1e-5,
                                    abs_tol=1e-7), (path.stem, step, params)
    assert {"mlm_gradient_descent", "rosenbrock_gradient_descent",
            "pytorch_tutorials_polynomial_autograd", "newton_method_autograd"} <= drawn
    assert {"fastbook_mnist_linear", "dict_params_update"} <= refused
