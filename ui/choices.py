"""Pickers that always have a choice.

In Streamlit a click on the selected option of ``st.segmented_control`` (or ``st.pills``)
deselects it, and the widget then returns None even with ``required=True`` on the way
back from the browser. A page that picks one function, one label or one view has no
meaning for "nothing": :func:`one_choice` keeps the last option instead, so the click
changes nothing, as a learner expects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

from ui.guard import guarded

T = TypeVar("T")


def _last_key(key: str) -> str:
    return f"_{key}_last"


def one_choice(container: Any, label: str, options: Sequence[T], *, key: str, default: T,
               on_change: Callable[[], None] | None = None, **kwargs: Any) -> T:
    """``container.segmented_control`` that never returns None: a cleared choice goes
    back to the last one (or ``default``) before the page runs, and ``on_change`` runs
    only for a real change."""
    last = _last_key(key)
    if st.session_state.get(key) not in options:
        st.session_state[key] = st.session_state.get(last, default)

    def changed() -> None:
        if st.session_state.get(key) is None:
            st.session_state[key] = st.session_state.get(last, default)
        elif on_change is not None:
            on_change()

    value = container.segmented_control(label, list(options), key=key, required=True,
                                        on_change=guarded(changed), **kwargs)
    if value is None:  # a clear that reached the page without its callback
        value = st.session_state.get(last, default)
    st.session_state[last] = value
    return value
