"""The yardstick corpus for issue 16: autograd teaching programs, run in plain torch and in
the engine, compared.

Each ``*.py`` file here is one teaching program; line 1 says where it comes from
(``# source: ...``), line 2 what was changed (``# edits: ...``). :func:`run_plain` runs a
program in plain torch, like a notebook would; :func:`run_engine` runs it through
``engine.run_program``; :func:`compare` lists where the two disagree; :func:`classify`
puts the pair in one of four buckets. ``python -m tests.corpus`` prints the table.

WHY a corpus: the language grows towards "tutorial code runs as written"; the share of
real tutorial programs the engine accepts *and* gets exactly right is the measure of that,
and every accepted program is a free end-to-end test against plain torch.

The plain side ``exec``s the corpus files: they are this repository's own fixtures, never
user text.
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import re
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch

CORPUS_DIR = Path(__file__).resolve().parent

# Accepted-and-equal programs on today's engine, nn/optim/classes included since issue 17;
# the lead raises it as the language grows, so the figure can only go up.
MIN_ACCEPTED = 102

EQUAL = "accepted and equal"
DIFFERENT = "accepted but DIFFERENT"
NEEDS_17 = "refused (nn/optim/own classes)"
REFUSED = "refused"

# Error kinds that mean "the engine declined this program"; any other error while plain
# torch ran the program fine (runtime, autograd, internal) is a disagreement, i.e. a bug.
REFUSAL_KINDS = frozenset({"syntax", "refused", "limit", "memory", "timeout", "input"})

# nn modules, optimisers or the program's own classes: issue 17's ground, not issue 16's.
# ``nn.functional`` (F) is already part of the language, so it does not count.
_ISSUE_17_SOURCE = re.compile(
    r"\bnn\.(?!functional\b)[A-Za-z_]|\boptim\b|^\s*class\s+\w+", re.MULTILINE)
_ISSUE_17_MESSAGE = re.compile(r"\bnn\.(?!functional\b)|\boptim\b|\bclass(es)?\b")

# Object reprs carry a memory address that differs between any two runs.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_REL_TOL = 1e-6
_ABS_TOL = 1e-7

_NO_OUT = object()  # the program's last statement is not an expression


@dataclass
class PlainRun:
    """What plain torch did with a program: its top-level names, printed text and Out."""

    namespace: dict[str, Any]
    printed: str
    out: Any = _NO_OUT
    error: BaseException | None = None

    def leaves(self) -> dict[str, torch.Tensor]:
        """Top-level leaf tensors that require grad: the ones whose ``.grad`` a learner reads."""
        return {name: value for name, value in self.namespace.items()
                if isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf
                and not name.startswith("__")}

    def out_text(self) -> str | None:
        """What a notebook shows as ``Out`` for the last line: its repr, nothing for None."""
        if self.out is _NO_OUT or self.out is None:
            return None
        return repr(self.out)


@dataclass
class Verdict:
    """One program's bucket, with the differences or the engine's refusal."""

    name: str
    status: str
    differences: list[str] = field(default_factory=list)
    message: str = ""
    line: int | None = None
    kind: str | None = None
    plain_error: str | None = None  # a corpus entry must run in plain torch: None


def programs(directory: Path = CORPUS_DIR) -> list[Path]:
    """The corpus files of ``directory``, sorted by name (package files aside)."""
    return sorted(path for path in directory.glob("*.py") if not path.name.startswith("__"))


def header(path: Path) -> tuple[str, str]:
    """The ``# source:`` and ``# edits:`` texts of a corpus file ('' when missing)."""
    lines = [*path.read_text(encoding="utf-8").splitlines(), "", ""]
    source = lines[0].removeprefix("# source:").strip() if lines[0].startswith("# source:") else ""
    edits = lines[1].removeprefix("# edits:").strip() if lines[1].startswith("# edits:") else ""
    return source, edits


def _split_last_expression(source: str, filename: str) -> tuple[Any, Any]:
    """Code for the body and for the trailing expression (None when there is none), so the
    plain run can show the last line's value the way a notebook's ``Out`` does."""
    tree = ast.parse(source, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    return body, (compile(last, filename, "eval") if last is not None else None)


@contextlib.contextmanager
def _torch_state_restored():
    """Seed 0 like the engine, and give back the RNG, grad mode and default dtype after:
    a corpus program must not change what the next one (or the next test) sees."""
    grad_enabled = torch.is_grad_enabled()
    dtype = torch.get_default_dtype()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            yield
        finally:
            torch.set_grad_enabled(grad_enabled)
            torch.set_default_dtype(dtype)


def run_plain(path: Path) -> PlainRun:
    """Run the corpus file in plain torch, in a fresh namespace, stdout captured."""
    body, last = _split_last_expression(path.read_text(encoding="utf-8"), str(path))
    namespace: dict[str, Any] = {"__name__": "__corpus__"}
    printed = io.StringIO()
    run = PlainRun(namespace, "")
    with (_torch_state_restored(), contextlib.redirect_stdout(printed),
          warnings.catch_warnings()):
        warnings.simplefilter("ignore")  # torch's UserWarnings go to stderr, not the text
        try:
            exec(body, namespace)  # our own fixture file, not user text
            if last is not None:
                run.out = eval(last, namespace)
        except Exception as error:  # noqa: BLE001 -- reported: an entry must run in plain torch
            run.error = error
    run.printed = printed.getvalue()
    return run


# The corpus measures the language (what runs, and whether its numbers are torch's), not
# speed: a few tutorials multiply 1000-wide matrices 60 times, which takes about 1 s on
# this machine alone and more under a loaded test run. So the clock here is 10 s; every
# other limit is the app's own. (In the app, such a program stops at 2 s and says so.)
CORPUS_LIMITS_TIME_S = 10.0


def run_engine(path: Path):
    """Run the corpus file through the engine as a learner would paste it (in process)."""
    from engine import Limits, run_program

    return run_program(path.read_text(encoding="utf-8"), isolate=False, auto_backward=False,
                       seed=0, limits=Limits(time_limit_s=CORPUS_LIMITS_TIME_S))


def _numbers_close(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or abs(x - y) <= _REL_TOL * max(abs(x), abs(y))


def texts_differ(plain: str, engine: str) -> str | None:
    """Why two printed texts differ (None when equal): the words must be identical and the
    numbers equal within 1e-6 relative, so float noise in the last digit is not a bug.
    Memory addresses in object reprs (``<AddBackward0 object at 0x...>``) are ignored."""
    plain, engine = _ADDRESS.sub(" at 0x>", plain), _ADDRESS.sub(" at 0x>", engine)
    plain_numbers, engine_numbers = _NUMBER.findall(plain), _NUMBER.findall(engine)
    if _NUMBER.split(plain) != _NUMBER.split(engine) or len(plain_numbers) != len(engine_numbers):
        return f"text differs:\n--- plain torch\n{plain}\n--- engine\n{engine}"
    for a, b in zip(plain_numbers, engine_numbers):
        if not _numbers_close(a, b):
            return f"number {b} where plain torch has {a}"
    return None


def _grads_differ(name: str, plain: torch.Tensor | None, engine: Any) -> str | None:
    if plain is None or engine is None:
        if plain is None and engine is None:
            return None
        return f"{name}.grad: plain torch has {plain!r}, the engine has {engine!r}"
    if not isinstance(engine, torch.Tensor) or engine.shape != plain.shape:
        return f"{name}.grad: plain torch has {plain!r}, the engine has {engine!r}"
    if torch.equal(engine, plain) or torch.allclose(engine.to(plain.dtype), plain,
                                                    rtol=_REL_TOL, atol=_ABS_TOL):
        return None
    return f"{name}.grad: plain torch has {plain!r}, the engine has {engine!r}"


def compare(plain: PlainRun, result) -> list[str]:
    """Where the engine's run disagrees with plain torch's: leaf grads, printed text, Out."""
    differences: list[str] = []
    grads = getattr(result, "grads", {}) or {}
    for name, leaf in plain.leaves().items():
        if name not in grads and leaf.grad is None:
            continue  # a leaf nothing flowed into: nothing to show either way
        if name not in grads:
            differences.append(f"{name}.grad: plain torch has {leaf.grad!r}, "
                               "the engine does not list the leaf")
            continue
        problem = _grads_differ(name, leaf.grad, grads[name])
        if problem:
            differences.append(problem)
    problem = texts_differ(plain.printed, result.printed)
    if problem:
        differences.append(f"printed {problem}")
    outs = [echo["text"] for echo in result.echoes if echo.get("out")]
    expected = plain.out_text()
    shown = outs[-1] if outs else None
    if expected is None or shown is None:
        if expected != shown:
            differences.append(f"Out: plain torch shows {expected!r}, the engine {shown!r}")
    else:
        problem = texts_differ(expected, shown)
        if problem:
            differences.append(f"Out {problem}")
    return differences


def needs_issue_17(source: str, message: str = "") -> bool:
    """Whether the program leans on nn modules, optimisers or its own classes."""
    return bool(_ISSUE_17_SOURCE.search(source) or _ISSUE_17_MESSAGE.search(message))


def classify(path: Path, plain: PlainRun, result) -> Verdict:
    """Put one program in its bucket; see the module docstring."""
    error = result.error
    if error is None:
        differences = compare(plain, result)
        return Verdict(path.stem, DIFFERENT if differences else EQUAL, differences)
    if error.kind not in REFUSAL_KINDS:
        return Verdict(path.stem, DIFFERENT,
                       [f"plain torch ran it; the engine stopped ({error.kind}): {error}"],
                       error.message, error.line, error.kind)
    source = path.read_text(encoding="utf-8")
    status = NEEDS_17 if needs_issue_17(source, error.message) else REFUSED
    return Verdict(path.stem, status, [], error.message, error.line, error.kind)


@cache
def verdict(path: Path) -> Verdict:
    """The program's verdict, computed once per process (tests and the summary share it)."""
    plain = run_plain(path)
    if plain.error is not None:
        failure = f"{type(plain.error).__name__}: {plain.error}"
        return Verdict(path.stem, DIFFERENT, [f"plain torch fails: {failure}"],
                       plain_error=failure)
    return classify(path, plain, run_engine(path))


def counts(verdicts: list[Verdict], paths: list[Path]) -> tuple[int, int, int, int]:
    """``(equal, total, equal_without_17, total_without_17)``; issue-17 programs are those
    whose source uses nn/optim/classes, whatever the engine said."""
    equal = sum(v.status == EQUAL for v in verdicts)
    core = [v for v, p in zip(verdicts, paths)
            if not needs_issue_17(p.read_text(encoding="utf-8")) and v.status != NEEDS_17]
    return equal, len(verdicts), sum(v.status == EQUAL for v in core), len(core)
