"""A seeded random walk over every page's widgets (AppTest): nothing uncaught ever reaches
the page, and the last-resort guard (ui.guard) never has to step in.

Each step picks one widget on the page as it stands and gives it a value a real user (or
a hostile link) could give: every option and None for pickers, empty, NaN, huge and
broken text for boxes, the ends of every slider, broken and runaway programs for the
editor, clicks on every button. A failure prints the seed and the steps that led to it;
replay with ``WALK_SEED=<seed> pytest tests/test_random_walk.py``.
``WALK_SEED=random`` draws a fresh seed (printed), ``WALK_STEPS`` sets the steps per page.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_tools import start
from ui.examples import EXAMPLES
from ui.guard import GUARD_MARK

# The walk's steps per page: the Playground has most widgets and views.
PAGES: dict[str, int] = {
    "playground": 110,
    "derivatives": 35,
    "chain_rule": 35,
    "vectors": 35,
    "accumulation": 30,
    "leaves": 30,
    "stopping_gradients": 30,
    "training_loop": 30,
}
DEFAULT_SEED = 20261204

PROGRAMS: list[str] = [e.code for e in EXAMPLES] + [
    "",
    "y = ",
    "y = x**",
    "y = x**2\nz = torch.sin(y",
    "y = x ** 2\n  z = y",
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "y = x.__class__",
    "x = torch.ones(10**9, requires_grad=True)\ny = x.sum()",
    "y = x @ x",
    "y = torch.log(torch.tensor(-1.0)) * x",
    "y = x / 0",
    "y = (" * 200 + "x" + ")" * 200,
    "def f(a):\n    return f(a)\ny = f(x)",
    "y = torch.randn(3) * x\nz = y.sum()",
    "y = x**2\ny.backward()\ny.backward()",
    "y = x**2\nz = y.detach() * x",
    "with torch.no_grad():\n    y = x**2\ny.backward()",
    "y = x.item() * 2",
    "ÿ = x",
    "y = x\x00",
    "y = w * x + b\nloss = (y - t) ** 2",
    "y = x ** 2\n" * 300,
    "# only a comment",
    "y = 1e400 * x",
    "x.grad",
]
TEXTS: list[str] = ["", " ", "nan", "inf", "-inf", "1e308", "1e400", "-0.0", "2.5", "0",
                    "[1, 2, 3]", "[[1, 2], [3, 4]]", "[]", "[", "abc", "1,2", "[nan, 1]",
                    "True", "x", "1" * 5000, "[" * 100, "__import__('os')", "3+4j"]
NUMBERS: list[float | None] = [None, 0.0, -1.0, 2.5, 1e300, -1e300, 1e-300, math.nan,
                               math.inf, -math.inf]


def _mutate(text: str, rng: random.Random) -> str:
    """The program with a typo: a span deleted, or a stray character typed."""
    if not text or rng.random() < 0.5:
        return text + rng.choice(["(", ")", ":", "*", "\n", " ", "x", "."])
    i = rng.randrange(len(text))
    return text[:i] + text[i + rng.randint(1, 8):]


def _choice_values(widget: Any) -> list[Any]:
    options = list(widget.options)
    return [*options, None] if options else [None]


def _act(widget: Any, kind: str, rng: random.Random) -> str:
    """Give ``widget`` a value and return what was done, in words for the failure log."""
    label = getattr(widget, "label", "") or getattr(widget, "key", "")
    if kind == "text_area":
        value = _mutate(widget.value or "", rng) if rng.random() < 0.3 else rng.choice(
            PROGRAMS)
        widget.input(value)
    elif kind == "text_input":
        value = rng.choice(TEXTS) if rng.random() < 0.8 else repr(rng.uniform(-1e3, 1e3))
        widget.input(value)
    elif kind == "number_input":
        value = rng.choice(NUMBERS) if rng.random() < 0.7 else rng.uniform(-100, 100)
        widget.set_value(value)
    elif kind in ("slider", "select_slider"):
        low, high = widget.min, widget.max
        value = rng.choice([low, high, widget.value])
        if isinstance(value, float) and rng.random() < 0.5:
            value = rng.uniform(float(low), float(high))
        widget.set_value(value)
    elif kind in ("checkbox", "toggle"):
        value = not widget.value
        widget.set_value(value)
    elif kind in ("selectbox", "radio", "segmented_control", "pills"):
        value = rng.choice(_choice_values(widget))
        widget.set_value(value)
    elif kind == "multiselect":
        options = list(widget.options)
        value = rng.sample(options, rng.randint(0, len(options))) if options else []
        widget.set_value(value)
    elif kind == "button":
        value = "click"
        widget.click()
    else:  # pragma: no cover - the kinds are listed in KINDS
        raise AssertionError(kind)
    shown = repr(value)
    return f"{kind} {label!r} <- {shown[:80]}{'…' if len(shown) > 80 else ''}"


KINDS: dict[str, Callable[[AppTest], Any]] = {
    kind: (lambda at, kind=kind: getattr(at, kind))
    for kind in ("text_area", "text_input", "number_input", "slider", "select_slider",
                 "checkbox", "toggle", "selectbox", "radio", "segmented_control", "pills",
                 "multiselect", "button")
}


def _widgets(at: AppTest) -> list[tuple[str, Any]]:
    found = []
    for kind, get in KINDS.items():
        found += [(kind, w) for w in get(at) if not getattr(w, "disabled", False)]
    return found


def _problems(at: AppTest) -> list[str]:
    """What a learner must never see: Streamlit's exception box, or the guard's apology
    (which means an error escaped every place that should have explained it)."""
    problems = [str(e.message)[:300] for e in at.exception]
    problems += [str(e.value)[:300] for e in at.error if GUARD_MARK in str(e.value)]
    return problems


def _seed() -> int:
    raw = os.environ.get("WALK_SEED", "")
    if raw == "random":
        return random.SystemRandom().randrange(2**32)
    return int(raw) if raw else DEFAULT_SEED


def _walk(page: str, steps: int, seed: int) -> None:
    rng = random.Random(f"{seed}:{page}")
    at = start()
    if page != "playground":
        at.switch_page(f"app_pages/{page}.py").run()
    log: list[str] = [f"open {page}"]
    for step in range(steps):
        problems = _problems(at)
        assert not problems, (f"WALK_SEED={seed} page {page}, after step {step}:\n  "
                              + "\n  ".join(log[-12:]) + "\n" + "\n".join(problems))
        widgets = _widgets(at)
        if not widgets:
            log.append("(no widgets: rerun)")
            at.run()
            continue
        # A kind first, then one of its widgets: a page with ten toggles and one editor
        # still gets its editor typed in.
        kind = rng.choice(sorted({k for k, _ in widgets}))
        widget = rng.choice([w for k, w in widgets if k == kind])
        try:
            log.append(_act(widget, kind, rng))
        except (ValueError, TypeError, IndexError) as refused:
            # AppTest itself refuses values the browser cannot send (a slider outside
            # its range, a number outside min/max): no user can reach that state.
            log.append(f"{kind}: AppTest refused the value ({refused})")
            continue
        at.run()
    problems = _problems(at)
    assert not problems, (f"WALK_SEED={seed} page {page}, at the end:\n  "
                          + "\n  ".join(log[-12:]) + "\n" + "\n".join(problems))


@pytest.mark.parametrize("page", list(PAGES))
def test_random_walk_reaches_no_uncaught_error(page: str) -> None:
    seed = _seed()
    steps = int(os.environ.get("WALK_STEPS", PAGES[page]))
    print(f"random walk over {page}: WALK_SEED={seed}, {steps} steps")
    _walk(page, steps, seed)
