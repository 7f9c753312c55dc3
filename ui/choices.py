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


def one_choice(container: Any, label: str, options: Sequence[T], *, key: str, default: T,
               on_change: Callable[[], None] | None = None, **kwargs: Any) -> T:
    """``container.segmented_control`` that never returns None: a cleared choice (or one
    no longer offered) is put back to the last one, or ``default``, before the widget is
    drawn, and ``on_change`` runs only for a real change."""
    last = f"_{key}_last"
    if st.session_state.get(key) not in options:
        st.session_state[key] = st.session_state.get(last, default)

    def changed() -> None:
        if on_change is not None and st.session_state.get(key) is not None:
            on_change()

    value = container.segmented_control(label, list(options), key=key, required=True,
                                        on_change=guarded(changed), **kwargs)
    st.session_state[last] = value
    return value
