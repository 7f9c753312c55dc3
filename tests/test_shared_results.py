"""Results every session shares (ui.memo, ui.show's caches), issue 20: a class opening one
link, or each student trying their own x, computes a curve once, and what is shared is
exactly what each student would have got alone.

References are independent of the caches: the textbook derivative, and the engine called
directly in this process.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import ProgramError
from ui import memo
from ui.show import Setup, cached_curve

pytestmark = pytest.mark.usefixtures("fresh_caches")

PROGRAM = "y = x**2\nz = torch.sin(y)\n"


def test_students_with_their_own_x_share_one_curve_and_each_gets_the_true_one():
    first = cached_curve(Setup(PROGRAM, (("x", "1.0001"),)), "x", -2.0, 4.0, 401)
    second = cached_curve(Setup(PROGRAM, (("x", "1.0302"),)), "x", -2.0, 4.0, 401)
    assert second is first  # the store's one value, not a second worker call
    xs, ys, dys = second
    assert xs == pytest.approx(np.linspace(-2.0, 4.0, 401))
    assert ys == pytest.approx(np.sin(xs**2), abs=1e-5)
    assert dys == pytest.approx(2 * xs * np.cos(xs**2), abs=1e-4)
    alone = engine.derivative_curve(PROGRAM, {"x": "1.0302"}, "x", -2.0, 4.0, 401,
                                    isolate=False)
    for shared, own in zip(second, alone):
        assert np.array_equal(shared, own)


def test_other_inputs_and_switches_are_not_shared():
    program = "z = torch.sin(x * a)\n"
    one = cached_curve(Setup(program, (("x", "1"), ("a", "2"))), "x", -1.0, 1.0, 5)
    two = cached_curve(Setup(program, (("x", "1"), ("a", "3"))), "x", -1.0, 1.0, 5)
    assert two[1] == pytest.approx(np.sin(3 * np.linspace(-1, 1, 5)), abs=1e-6)
    assert one[1] == pytest.approx(np.sin(2 * np.linspace(-1, 1, 5)), abs=1e-6)
    cut = cached_curve(Setup(program, (("x", "1"), ("a", "3")), no_grad=True), "x",
                       -1.0, 1.0, 5)
    assert np.all(np.isnan(cut[2]))  # under no_grad autograd records no path
    assert not np.any(np.isnan(two[2]))


def test_a_list_input_is_never_taken_for_a_number():
    number = cached_curve(Setup("z = (x * 2).sum()\n", (("x", "1"),)), "x", -1.0, 1.0, 3)
    listed = cached_curve(Setup("z = (x * 2).sum()\n", (("x", "[1, 2]"),)), "x",
                          -1.0, 1.0, 3)
    assert not isinstance(number, ProgramError)
    assert isinstance(listed, ProgramError)  # a curve varies one number


@pytest.mark.parametrize("order", [("5", "1"), ("1", "5")])
def test_a_refusal_is_not_shared_its_sentence_names_this_x(order):
    program = "v = torch.tensor([1.0, 2.0, 3.0])\nz = v[int(x)] * x\n"
    said = {x: cached_curve(Setup(program, (("x", x),)), "x", -2.0, 4.0, 11) for x in order}
    assert isinstance(said["5"], ProgramError) and isinstance(said["1"], ProgramError)
    assert "index 5 is out of bounds" in said["5"].message
    assert "plain number" in said["1"].message


def test_shared_arrays_cannot_be_changed_by_one_session():
    xs, ys, dys = cached_curve(Setup(PROGRAM, (("x", "2"),)), "x", -1.0, 1.0, 5)
    with pytest.raises(ValueError, match="read-only"):
        ys[0] = 99.0
    again = cached_curve(Setup(PROGRAM, (("x", "3"),)), "x", -1.0, 1.0, 5)
    assert again[1][0] == pytest.approx(np.sin(1.0))


def test_the_store_keeps_the_most_recently_used():
    store = memo.SharedStore(maxsize=2)
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1  # a is now the most recent
    store.put("c", 3)
    assert store.get("b") is None and store.get("a") == 1 and store.get("c") == 3
    memo.clear()
    assert store.get("a") is None


def test_one_link_opened_by_a_class_runs_once_and_gives_each_plain_torchs_numbers():
    import torch

    link = Setup(PROGRAM, (("x", "1.5"),))
    first, second = link.run(), Setup(PROGRAM, (("x", "1.5"),)).run()
    assert second is first
    x = torch.tensor(1.5, requires_grad=True)
    z = torch.sin(x**2)
    z.backward()
    assert float(second.output) == pytest.approx(float(z), abs=1e-6)
    assert float(second.grads["x"]) == pytest.approx(float(x.grad), abs=1e-6)
    assert Setup(PROGRAM, (("x", "2"),)).run() is not first  # another input: its own run


def test_a_run_stopped_by_a_limit_is_run_again_not_shared():
    loop = "s = 0\nfor i in range(10**8):\n    s = s + 1\nz = x * 2\n"
    first = Setup(loop, (("x", "1"),)).run()
    assert first.error is not None and first.error.kind == "limit"
    assert Setup(loop, (("x", "1"),)).run() is not first
