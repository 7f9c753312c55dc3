"""The Playground's whole state as URL query parameters, and back, validated.

A share link must reproduce exactly what the sender saw, and anyone can craft one, so
reading a link is input validation like any other: every parameter is checked here, a bad
one is dropped with a sentence saying why, and the program text itself is left to the
engine, which refuses what it does not allow. No Streamlit here (pure functions, tested
with hypothesis round trips).

Parameters (all optional)::

    code=<program text>          in=x:4 (repeated)      const=t (repeated: requires_grad off)
    zcode=<zlib, base64url>      the program, compressed: links to long programs use it
    no_grad=1   retain_grad=1    detach=y (repeated)    wrt=x   lo=-3   hi=3
    editor=hidden                style=projector
    view=steps (graph | steps | written | zoom | gradient)    step=3    second=1
    tstep=7                      the training step (backward() call) the graph views show
    descend=sgd (sgd | momentum | adam)   dlr=0.1   dsteps=20   dleaf=x (repeated)
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

from engine.limits import DEFAULT_LIMITS

# A link carries any program the engine would run; past PLAIN_CODE_CHARS of URL text the
# program travels compressed (zcode), which keeps a 10,000-character program's link to a
# few thousand characters. Past MAX_LINK_CHARS some servers and chat tools cut links, so
# the page says plainly that the link is too long instead of showing a broken one.
MAX_CODE_CHARS = DEFAULT_LIMITS.max_source_chars
PLAIN_CODE_CHARS = 1_500
MAX_LINK_CHARS = 8_000
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
MAX_INPUTS = 16
MAX_NAME_CHARS = 40
MAX_VALUE_CHARS = 2_000
MAX_RANGE = 1e6
MAX_STEP = 100_000
KNOWN = frozenset({"code", "zcode", "in", "const", "no_grad", "retain_grad", "detach", "wrt", "lo",
                   "hi", "editor", "style", "view", "step", "second", "tstep", "descend",
                   "dlr", "dsteps", "dleaf"})
# Descend: the optimizers it offers (engine.teaching.descend writes their loops), and the
# bounds of its settings: a link may carry any numbers.
DESCEND_OPTIMIZERS = ("sgd", "momentum", "adam")
MAX_DESCEND_STEPS = 500
MAX_LEARNING_RATE = 1e6
SHARE_MENU_KEY = "pg_share_menu"  # the Playground's Share popover: open or not
# The graph views, in the order the page offers them (link value -> button text).
VIEWS: dict[str, str] = {
    "graph": "Annotated graph",
    "steps": "Step through backward",
    "written": "Written vs recorded",
    "zoom": "Pan and zoom",
    "gradient": "The gradient's own graph",
}


@dataclass(frozen=True)
class PlaygroundState:
    """Everything a Playground view depends on. ``values`` maps input names to the text of
    their boxes; ``constants`` are the inputs with requires_grad switched off; ``lo``/``hi``
    None mean "around the current value" (each end on its own: "from 0" alone keeps the
    automatic width)."""

    code: str = "y = x**2\nz = torch.sin(y)\n"
    values: Mapping[str, str] = field(default_factory=lambda: {"x": "4"})
    constants: frozenset[str] = frozenset()
    no_grad: bool = False
    detach: tuple[str, ...] = ()
    retain_grad: bool = False
    wrt: str | None = None
    lo: float | None = None
    hi: float | None = None
    hide_editor: bool = False
    projector: bool = False
    view: str = "graph"  # a key of VIEWS
    step: int | None = None  # backward step shown in the "steps" view (1 = first node)
    second: bool = False  # the f'' curve beside f and f'
    train_step: int | None = None  # the backward() call the graph views show (None: last)
    descend: str | None = None  # Descend's optimizer (one of DESCEND_OPTIMIZERS), or off
    descend_lr: float = 0.1
    descend_steps: int = 20
    descend_leaves: tuple[str, ...] = ()

    def with_program(self, code: str, values: Mapping[str, str]) -> PlaygroundState:
        """A fresh view of another program (examples, lessons): toggles reset."""
        return replace(PlaygroundState(), code=code, values=dict(values),
                       hide_editor=self.hide_editor, projector=self.projector)


def _is_name(text: str) -> bool:
    return (0 < len(text) <= MAX_NAME_CHARS and text.isascii() and text.isidentifier()
            and not text.startswith("__"))


def to_query(state: PlaygroundState) -> dict[str, str | list[str]]:
    """Query parameters for ``state``, leaving out what equals the default view."""
    query: dict[str, str | list[str]] = {}
    if len(quote(state.code)) <= PLAIN_CODE_CHARS:
        query["code"] = state.code
    else:
        query["zcode"] = compress(state.code)
    if state.values:
        query["in"] = [f"{name}:{value}" for name, value in state.values.items()]
    if state.constants:
        query["const"] = sorted(state.constants)
    if state.no_grad:
        query["no_grad"] = "1"
    if state.retain_grad:
        query["retain_grad"] = "1"
    if state.detach:
        query["detach"] = list(state.detach)
    if state.wrt:
        query["wrt"] = state.wrt
    if state.lo is not None:
        query["lo"] = repr(float(state.lo))
    if state.hi is not None:
        query["hi"] = repr(float(state.hi))
    if state.hide_editor:
        query["editor"] = "hidden"
    if state.projector:
        query["style"] = "projector"
    if state.view != "graph":
        query["view"] = state.view
    if state.view == "steps" and state.step is not None:
        query["step"] = str(state.step)
    if state.second:
        query["second"] = "1"
    if state.train_step is not None:
        query["tstep"] = str(state.train_step)
    if state.descend:
        query["descend"] = state.descend
        query["dlr"] = repr(float(state.descend_lr))
        query["dsteps"] = str(state.descend_steps)
        if state.descend_leaves:
            query["dleaf"] = list(state.descend_leaves)
    return query


def query_string(state: PlaygroundState) -> str:
    """``to_query`` as URL text (spaces as %20, newlines as %0A)."""
    return urlencode(to_query(state), doseq=True, quote_via=quote)


def compress(code: str) -> str:
    """The program as zlib-compressed, URL-safe base64 text (the ``zcode`` parameter)."""
    return base64.urlsafe_b64encode(zlib.compress(code.encode(), 9)).decode()


def decompress(text: str) -> str | None:
    """The program a ``zcode`` parameter holds, or None when it is not one we could have
    written or it holds more than MAX_CODE_CHARS: decompression stops there, so a
    crafted link cannot make the server inflate a zip bomb."""
    if len(text) > 4 * MAX_CODE_CHARS or not _BASE64URL.fullmatch(text):
        return None
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, 4 * MAX_CODE_CHARS + 1)
        if inflater.unconsumed_tail or not inflater.eof:
            return None
        code = raw.decode("utf-8")
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError):
        return None
    return code if len(code) <= MAX_CODE_CHARS else None


def link_too_long(link: str) -> str | None:
    """Why ``link`` cannot be shared as it is, or None when it can."""
    if len(link) <= MAX_LINK_CHARS:
        return None
    return (f"This view's link would be {len(link):,} characters long, more than the "
            f"{MAX_LINK_CHARS:,} that browsers, servers and chat tools reliably keep "
            "(long input values make it so). Shorten the inputs, or use Export → "
            "Download .py to pass the program on.")


def _flag(raw: Sequence[str], name: str, problems: list[str]) -> bool:
    if not raw:
        return False
    if raw[-1] in ("1", "true", "on"):
        return True
    if raw[-1] not in ("0", "false", "off", ""):
        problems.append(f"`{name}` must be 1 or 0; it was ignored.")
    return False


def _number(raw: Sequence[str], name: str, problems: list[str]) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw[-1])
    except ValueError:
        problems.append(f"`{name}` is not a number; the range was chosen automatically.")
        return None
    if not math.isfinite(value) or abs(value) > MAX_RANGE:
        problems.append(f"`{name}` must be a finite number within ±{MAX_RANGE:g}.")
        return None
    return value


def from_query(query: Mapping[str, Sequence[str]]) -> tuple[PlaygroundState, list[str]]:
    """The state a link describes, and a sentence for every parameter that was dropped.

    ``query`` maps each parameter to all its values (``st.query_params.get_all``), or to
    one value as ``to_query`` writes it. Without ``code`` the link is the default view.
    """
    query = {k: [v] if isinstance(v, str) else list(v) for k, v in query.items()}
    problems: list[str] = []
    unknown = sorted(set(query) - KNOWN)
    if unknown:
        problems.append("Unknown link parameters were ignored: "
                        + ", ".join(f"`{u[:20]}`" for u in unknown[:5]) + ".")
    default = PlaygroundState()
    code = query.get("code", [])
    if query.get("zcode"):
        unpacked = decompress(query["zcode"][-1])
        if unpacked is None:
            problems.append("The program in the link is damaged or longer than "
                            f"{MAX_CODE_CHARS:,} characters; the example program is shown "
                            "instead.")
        code = [unpacked] if unpacked is not None else []
    if code and len(code[-1]) > MAX_CODE_CHARS:
        problems.append(f"The program in the link is longer than {MAX_CODE_CHARS:,} "
                        "characters; the example program is shown instead.")
        code = []
    values: dict[str, str] = {} if code else dict(default.values)
    for item in query.get("in", []):
        name, sep, value = item.partition(":")
        name = name.strip()
        if not sep or not _is_name(name):
            problems.append(f"The input `{item[:30]}` is not `name:value`; it was ignored.")
        elif len(value) > MAX_VALUE_CHARS:
            problems.append(f"The value of input `{name}` is too long; it was ignored.")
        elif len(values) >= MAX_INPUTS and name not in values:
            problems.append(f"At most {MAX_INPUTS} inputs; `{name}` was ignored.")
        else:
            values[name] = value.strip()
    constants = {c for c in query.get("const", []) if _is_name(c)}
    detach = tuple(dict.fromkeys(d for d in query.get("detach", []) if _is_name(d)))
    if len(detach) > MAX_INPUTS:
        detach = detach[:MAX_INPUTS]
    bad_names = [n for n in [*query.get("const", []), *query.get("detach", [])]
                 if not _is_name(n)]
    if bad_names:
        problems.append("Names that are not variable names were ignored.")
    wrt_raw = query.get("wrt", [])
    wrt = wrt_raw[-1] if wrt_raw and _is_name(wrt_raw[-1]) else None
    if wrt_raw and wrt is None:
        problems.append("`wrt` is not a variable name; it was ignored.")
    lo = _number(query.get("lo", []), "lo", problems)
    hi = _number(query.get("hi", []), "hi", problems)
    if lo is not None and hi is not None and lo >= hi:
        problems.append("The plot range needs lo < hi; it was chosen automatically.")
        lo = hi = None
    editor = query.get("editor", [])
    if editor and editor[-1] not in ("hidden", "shown"):
        problems.append("`editor` must be hidden or shown; it was ignored.")
    style = query.get("style", [])
    if style and style[-1] not in ("projector", "normal"):
        problems.append("`style` must be projector or normal; it was ignored.")
    view = query.get("view", [])
    if view and view[-1] not in VIEWS:
        problems.append("`view` must be one of " + ", ".join(VIEWS) + "; it was ignored.")
        view = []
    step = _step(query.get("step", []), problems)
    train_step = _step(query.get("tstep", []), problems, "tstep")
    descend = query.get("descend", [])
    if descend and descend[-1] not in DESCEND_OPTIMIZERS:
        problems.append("`descend` must be one of " + ", ".join(DESCEND_OPTIMIZERS)
                        + "; Descend was left off.")
        descend = []
    descend_lr = _number(query.get("dlr", []), "dlr", problems)
    if descend_lr is not None and not 0 < descend_lr <= MAX_LEARNING_RATE:
        problems.append(f"`dlr` (the learning rate) must be above 0 and at most "
                        f"{MAX_LEARNING_RATE:g}; 0.1 was used.")
        descend_lr = None
    descend_steps = _step(query.get("dsteps", []), problems, "dsteps", MAX_DESCEND_STEPS)
    descend_leaves = tuple(dict.fromkeys(n for n in query.get("dleaf", []) if _is_name(n)))
    state = PlaygroundState(
        code=code[-1] if code else default.code,
        values=values,
        constants=frozenset(constants & set(values)),
        no_grad=_flag(query.get("no_grad", []), "no_grad", problems),
        detach=detach,
        retain_grad=_flag(query.get("retain_grad", []), "retain_grad", problems),
        wrt=wrt, lo=lo, hi=hi,
        hide_editor=bool(editor) and editor[-1] == "hidden",
        projector=bool(style) and style[-1] == "projector",
        view=view[-1] if view else ("steps" if step is not None else "graph"),
        step=step,
        second=_flag(query.get("second", []), "second", problems),
        train_step=train_step,
        descend=descend[-1] if descend else None,
        descend_lr=descend_lr if descend_lr is not None else default.descend_lr,
        descend_steps=descend_steps or default.descend_steps,
        descend_leaves=descend_leaves[:MAX_INPUTS],
    )
    return state, problems


def _step(raw: Sequence[str], problems: list[str], name: str = "step",
          most: int = MAX_STEP) -> int | None:
    """A step number or count (1 or more); the page clamps a step to those there are."""
    if not raw:
        return None
    text = raw[-1].strip()
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 6
            and 1 <= int(text) <= most):
        problems.append(f"`{name}` must be a whole number from 1 to {most:,}; "
                        "it was ignored.")
        return None
    return int(text)


def resolve_range(lo: float | None, hi: float | None, auto: tuple[float, float],
                  ) -> tuple[float, float, str | None]:
    """The plotted range from the "from" and "to" boxes, either of which may be empty,
    with a sentence when the page chose part of it. An end left empty comes from the
    automatic range, moved to keep its width when the typed end lies beyond it."""
    auto_lo, auto_hi = auto
    width = auto_hi - auto_lo
    if lo is not None and hi is not None:
        if lo < hi:
            return lo, hi, None
        return auto_lo, auto_hi, "The range needs from < to; showing the automatic range."
    if lo is not None:
        end = auto_hi if auto_hi > lo else lo + width
        return lo, end, f"Plotting from {lo:g} to {end:g}: type a \"to\" value to change it."
    if hi is not None:
        start = auto_lo if auto_lo < hi else hi - width
        return start, hi, f"Plotting from {start:g} to {hi:g}: type a \"from\" value to change it."
    return auto_lo, auto_hi, None
