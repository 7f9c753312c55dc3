"""The presenter options every page shares: *Hide the editor* and *Projector style*.

A lecturer sets them once and they hold on every page (the Playground and each lesson)
until switched off, and a link carries them (``editor=hidden``, ``style=projector``), so a
lecture's links open ready for the room. Streamlit forgets a widget's value when a page
without it runs, so the choice is kept under a key of its own and given back to the
toggles on each page.

Projector style is one stylesheet (large type, the editor and code at body size, the page
using the projector's whole width) plus the projector graph theme the pages ask for
through :func:`current`. The keyboard shortcuts for stepping through backward, the
running node kept in view and chain rules fitted to their column are a script of our
own, ``ui/presenter.js`` (the only script the app adds; never user text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple, dataclass
from pathlib import Path

import streamlit as st

from ui.guard import guarded

HIDE_KEY, PROJECTOR_KEY = "presenter_hide_editor", "presenter_projector"
_KEPT = "presenter_kept"  # the choice, beyond the page whose toggles set it
_WRITTEN = "presenter_written"  # the options this session last wrote to the address bar

# What the link parameters say, as the Playground's share links write them.
EDITOR_PARAM, STYLE_PARAM = "editor", "style"
_EDITOR_WORDS = {"hidden": True, "shown": False}
_STYLE_WORDS = {"projector": True, "normal": False}

# The projector's stylesheet. Type grows with the root size (22 px instead of 16); the
# page's own margins (Streamlit's 5-6 rem, 110+ px a side at this size) shrink so a
# 1280 px projector gives the views its width; the program, typed or hidden, is at least
# the body's size (Streamlit draws code at 0.875 rem). --presenter-projector tells the
# presenter script that Page Up / Page Down may step through backward.
PROJECTOR_CSS = """<style>
:root { --presenter-projector: 1; }
html { font-size: 22px; }
[data-testid='stMainBlockContainer'] { padding: 2.5rem 1.25rem 4rem; max-width: none; }
h1 { font-size: 2.25rem !important; }
[data-testid='stTextArea'] textarea { font-size: 1.05rem !important; line-height: 1.45; }
[data-testid='stCode'] pre, [data-testid='stCode'] code { font-size: 1rem !important; }
[data-testid='stSidebarContent'] { font-size: 0.9rem; }
</style>"""


PRESENTER_SCRIPT = f"<script>{(Path(__file__).parent / 'presenter.js').read_text()}</script>"


@dataclass(frozen=True)
class Presenter:
    """What the presenter chose: the program as read-only text, and projector style."""

    hide_editor: bool = False
    projector: bool = False


def from_link(query: Mapping[str, list[str]]) -> dict[str, bool]:
    """The presenter options a link sets (only those it names, in words it knows)."""
    chosen: dict[str, bool] = {}
    editor, style = query.get(EDITOR_PARAM, []), query.get(STYLE_PARAM, [])
    if editor and editor[-1] in _EDITOR_WORDS:
        chosen[HIDE_KEY] = _EDITOR_WORDS[editor[-1]]
    if style and style[-1] in _STYLE_WORDS:
        chosen[PROJECTOR_KEY] = _STYLE_WORDS[style[-1]]
    return chosen


def to_link(presenter: Presenter) -> dict[str, str]:
    """The link parameters for ``presenter`` (none for the defaults)."""
    return ({EDITOR_PARAM: "hidden"} if presenter.hide_editor else {}) | (
        {STYLE_PARAM: "projector"} if presenter.projector else {})


def current() -> Presenter:
    """The options as they stand in this session."""
    kept = st.session_state.get(_KEPT, {})
    return Presenter(bool(kept.get(HIDE_KEY)), bool(kept.get(PROJECTOR_KEY)))


def adopt(presenter: Presenter) -> None:
    """Set the options (a link or an example replaced the view)."""
    st.session_state[_KEPT] = {HIDE_KEY: presenter.hide_editor,
                               PROJECTOR_KEY: presenter.projector}
    st.session_state[HIDE_KEY] = presenter.hide_editor
    st.session_state[PROJECTOR_KEY] = presenter.projector


@guarded
def _keep() -> None:
    """Toggle callback: remember the choice beyond this page."""
    st.session_state[_KEPT] = {key: bool(st.session_state.get(key))
                               for key in (HIDE_KEY, PROJECTOR_KEY)}


def presenter_options() -> Presenter:
    """The sidebar's Presenter section on every page, and projector style when on.

    Options the page's link names are taken when the link is new (opened,
    or a lesson's link followed), not the one this function last wrote: a page switch that
    drops them keeps the session's choice. The address bar then says the choice, so a
    lesson's link copied from it opens the same way."""
    query = {k: st.query_params.get_all(k) for k in st.query_params}
    named = from_link(query)
    for param, words in ((EDITOR_PARAM, _EDITOR_WORDS), (STYLE_PARAM, _STYLE_WORDS)):
        said = query.get(param, [])
        if said and said[-1] not in words:
            st.warning(f"Share link: `{param}` must be {' or '.join(words)}; it was ignored.",
                       icon=":material/link_off:")
    if named and named != st.session_state.get(_WRITTEN):
        adopt(replace_options(current(), named))
    for widget, value in zip((HIDE_KEY, PROJECTOR_KEY), astuple(current()), strict=True):
        if widget not in st.session_state:  # forgotten since another page ran
            st.session_state[widget] = value
    with st.sidebar:
        st.subheader("Presenter")
        st.toggle("Hide the editor", key=HIDE_KEY, on_change=_keep,
                  help="Show the program as large read-only text (the Playground; a "
                       "lesson's Open in Playground keeps it).")
        st.toggle("Projector style", key=PROJECTOR_KEY, on_change=_keep,
                  help="Large type, thick lines and the page's full width for a lecture "
                       "hall. In the step-through view, → or N steps on and ← or B back "
                       "(Page Down and Page Up too, for a presenter's clicker).")
    presenter = current()
    link = to_link(presenter)
    for param in (EDITOR_PARAM, STYLE_PARAM):
        if param in link:
            st.query_params[param] = link[param]
        elif param in st.query_params:
            del st.query_params[param]
    st.session_state[_WRITTEN] = from_link({k: [v] for k, v in link.items()})
    return presenter


def presenter_assets(presenter: Presenter) -> str:
    """The presenter's key script, and projector style's sheet when it is on: HTML for
    the page's one block of fixed styles and scripts (app.py)."""
    return PRESENTER_SCRIPT + (PROJECTOR_CSS if presenter.projector else "")


def replace_options(presenter: Presenter, named: Mapping[str, bool]) -> Presenter:
    """``presenter`` with the options a link named."""
    return Presenter(named.get(HIDE_KEY, presenter.hide_editor),
                     named.get(PROJECTOR_KEY, presenter.projector))
