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
    plain = run_plain(path)
    assert plain.error is None, f"{path.name} fails in plain torch: {plain.error!r}"


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
    _, _, core_equal, core_total = counts(verdicts, PROGRAMS)
    assert core_equal >= MIN_ACCEPTED, (
        f"only {core_equal}/{core_total} programs (nn/optim/classes aside) are accepted and "
        f"equal to plain torch; at least {MIN_ACCEPTED} were before")
