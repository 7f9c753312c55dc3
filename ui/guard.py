"""The last resort: an error no page explained is logged for the operator and shown as a
short sentence with what to try, never as Streamlit's red exception box.

Every known failure (a refused program, a runtime error, an autograd error) is explained
where it happens; this is for the bugs we have not found yet. A lecture must go on: the
page keeps what it drew before the error, and the learner's program and inputs stay in the
session (Streamlit forgets the value of a widget a run did not draw, so the guard writes
them back as plain session values). tests/test_random_walk.py fails whenever this guard
has to step in, so it stays a safety net, not a way to hide bugs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import streamlit as st

LOG = logging.getLogger("autograd_explorer")
if not LOG.handlers:  # the operator reads the server's stderr (Community Cloud: its logs)
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(_handler)
# The words that mark the guard's message; the random walk looks for them.
GUARD_MARK = "Something went wrong on our side"
# Widget values worth keeping through an error: the program, its inputs and switches.
KEPT_PREFIXES = ("pg_code", "pg_in_", "pg_rg_")
FAILED = "_guard_failed"  # set by a guarded callback, shown by the next page run

P = ParamSpec("P")


def _keep_work() -> None:
    """Write the learner's program and inputs back as plain session values, so the next
    run finds them even when this run died before drawing their widgets."""
    for key in [k for k in st.session_state if str(k).startswith(KEPT_PREFIXES)]:
        try:
            st.session_state[key] = st.session_state[key]
        except Exception:  # noqa: BLE001 - a widget drawn this run keeps its value anyway
            continue


def apologise(where: str) -> None:
    """The sentence a learner sees instead of a traceback."""
    st.error(f"{GUARD_MARK}: {where} could not be shown. Your program and inputs are "
             "kept. Try undoing your last change, picking an example, or reloading the "
             "page; the error has been logged for whoever runs this app.",
             icon=":material/sentiment_dissatisfied:")


@contextmanager
def last_resort(page_title: str) -> Iterator[None]:
    """Run a page; any error that escapes it is logged and apologised for.

    Streamlit's own control flow (st.stop, st.rerun, st.switch_page) raises
    BaseExceptions that are not Exceptions, so they pass through untouched."""
    if st.session_state.pop(FAILED, None):
        apologise("the last change")
    try:
        yield
    except Exception:
        LOG.exception("uncaught error on page %r", page_title)
        _keep_work()
        apologise("part of this page")


def guarded(callback: Callable[P, None]) -> Callable[P, None]:
    """A widget callback that cannot crash the page: Streamlit runs callbacks before the
    page script, outside :func:`last_resort`."""

    @functools.wraps(callback)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            LOG.exception("uncaught error in callback %s", callback.__qualname__)
            st.session_state[FAILED] = True

    return run
