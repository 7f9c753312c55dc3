"""The tutorial corpus (tests/corpus/): every program the engine accepts must give what
plain torch gives; every refusal must say why and where.

Refused programs are xfail (not strict) with the engine's message as the reason, so the
report lists what the language still lacks and a program that starts to pass shows up as
XPASS. An accepted program that differs from plain torch always fails: that is a bug.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.corpus import (
    DIFFERENT,
    EQUAL,
    MIN_ACCEPTED,
    NEEDS_17,
    REFUSED,
    counts,
    header,
    programs,
    run_plain,
    verdict,
)

PROGRAMS = programs()
pytestmark = pytest.mark.timeout(60)  # the whole corpus runs in about 10 s


def _id(path: Path) -> str:
    return path.stem


def test_corpus_is_big_enough_to_measure() -> None:
    assert len(PROGRAMS) >= 66


@pytest.mark.parametrize("path", PROGRAMS, ids=_id)
def test_header_names_a_source_and_the_edits(path: Path) -> None:
    source, edits = header(path)
    assert re.search(r"[\w.-]+/[\w.-]+|https?://", source), f"{path.name}: no real source"
    assert edits, f"{path.name}: line 2 must say what was edited ('none' if nothing)"


@pytest.mark.parametrize("path", PROGRAMS, ids=_id)
def test_program_runs_in_plain_torch(path: Path) -> None:
    """A corpus entry that fails in plain torch measures nothing."""
    failure = verdict(path).plain_error
    assert failure is None, f"{path.name} fails in plain torch: {failure}"


@pytest.mark.parametrize("path", PROGRAMS, ids=_id)
@pytest.mark.timeout(10)
def test_engine_agrees_with_plain_torch_or_says_why_not(path: Path) -> None:
    v = verdict(path)
    if v.status == DIFFERENT:
        pytest.fail(f"{path.name}: the engine disagrees with plain torch:\n"
                    + "\n".join(v.differences))
    if v.status in (REFUSED, NEEDS_17):
        assert v.message.strip(), f"{path.name}: refused without a message"
        assert v.line is not None and v.line >= 1, f"{path.name}: refusal without a line"
        pytest.xfail(f"{v.status}: line {v.line}: {v.message}")
    assert v.status == EQUAL


def test_accepted_and_equal_count_does_not_fall() -> None:
    verdicts = [verdict(path) for path in PROGRAMS]
    equal, total, _, _ = counts(verdicts, PROGRAMS)
    assert equal >= MIN_ACCEPTED, (
        f"only {equal}/{total} programs are accepted and equal to plain torch; at least "
        f"{MIN_ACCEPTED} were before")


# The comparison itself: it must catch what it is there to catch.

def _plain(tmp_path: Path, source: str):
    path = tmp_path / "prog.py"
    path.write_text(source, encoding="utf-8")
    return run_plain(path)


def test_compare_catches_a_wrong_grad_and_a_missing_leaf(tmp_path: Path) -> None:
    import torch

    from engine import RunResult
    from tests.corpus import compare

    plain = _plain(tmp_path, "import torch\nx = torch.tensor(3.0, requires_grad=True)\n"
                             "(x * x).backward()\nprint(x.grad)\n")
    assert plain.leaves()["x"].grad == 6.0
    right = RunResult(grads={"x": torch.tensor(6.0)}, printed="tensor(6.)\n")
    assert compare(plain, right) == []
    wrong = RunResult(grads={"x": torch.tensor(6.5)}, printed="tensor(6.)\n")
    assert any("x.grad" in d for d in compare(plain, wrong))
    missing = RunResult(grads={}, printed="tensor(6.)\n")
    assert any("does not list" in d for d in compare(plain, missing))


def test_printed_numbers_compare_within_float_noise_only() -> None:
    from tests.corpus import texts_differ

    assert texts_differ("loss 0.123456789\n", "loss 0.1234567891\n") is None
    assert texts_differ("loss 0.1235\n", "loss 0.1236\n") is not None
    assert texts_differ("loss 1\n", "Loss 1\n") is not None
    assert texts_differ("<SumBackward0 object at 0x7f12>", "<SumBackward0 object at 0x9a>") is None
    assert texts_differ("<SumBackward0 object at 0x7f12>", "SumBackward0") is not None


def test_plain_run_shows_the_last_expression_like_a_notebook(tmp_path: Path) -> None:
    from engine import RunResult
    from tests.corpus import compare

    plain = _plain(tmp_path, "import torch\nx = torch.arange(3.0)\nx * 2\n")
    assert plain.out_text() == "tensor([0., 2., 4.])"
    echo = {"line": 3, "code": "x * 2", "text": "tensor([0., 2., 4.])", "out": True}
    assert compare(plain, RunResult(echoes=[echo])) == []
    echo_wrong = {**echo, "text": "tensor([0., 2., 5.])"}
    assert compare(plain, RunResult(echoes=[echo_wrong])) != []
    assert compare(plain, RunResult()) != []


def test_plain_run_leaves_the_global_torch_state_alone(tmp_path: Path) -> None:
    import torch

    before = torch.random.get_rng_state()
    plain = _plain(tmp_path, "import torch\ntorch.set_grad_enabled(False)\n"
                             "torch.set_default_dtype(torch.float64)\nx = torch.randn(3)\n")
    assert plain.error is None
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    assert torch.equal(torch.random.get_rng_state(), before)
