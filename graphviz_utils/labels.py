"""Node labels as Graphviz HTML-like tables, every piece of text escaped.

This is the only module that writes label text. All of it goes through :func:`text`
(``html.escape``), so a variable name, a line of code or a number can never open a tag,
close the label or start a Graphviz escape (``\\N`` would show the node's id).
"""

from __future__ import annotations

import html
import re
import textwrap
from typing import Any

import torch

from engine.running.summary import format_number, format_summary, summarize
from engine.teaching.explain import short_sources
from graphviz_utils.model import Node
from graphviz_utils.theme import Theme

FULL_VALUES_IN_LABEL = 16  # elements; larger tensors show shape and min/max
WRAP_AT = 34  # characters per line of a value
MAX_VALUE_LINES = 4
_HYPHEN_AFTER_LETTER = re.compile(r"[^\W\d]-")  # textwrap's letters: \w but not \d

# Why a box is dashed, in a few words (engine.teaching.explain has the full sentences).
SHORT_WHY: dict[str, str] = {
    "no_grad": "inside torch.no_grad()",
    "no_grad_option": "no_grad switch is on",
    "detach": "from a .detach()ed tensor",
    "detach_option": "detached (switch)",
    "requires_grad_off": "inputs have requires_grad=False",
    "integer": "integer values: no gradients",
    "constant": "nothing it uses requires grad",
    "item": "made from a plain number (.item())",
    "not_differentiable": "an operation without a gradient",
    "from_untracked": "computed only from values not recorded",
}


def why_short(reason: str | None, sources: list[dict[str, Any]] | None = None) -> str:
    """A box's reason in a few words. A value computed only from unrecorded ones names
    them and what happened to each ("computed only from y (detached by the switch,
    line 1)"): it was not detached itself, and its box must not say so."""
    if reason == "from_untracked" and sources:
        return short_sources(sources)
    return SHORT_WHY.get(reason or "constant", "not recorded")


def text(value: object) -> str:
    """Escape anything for an HTML-like label: ``<``, ``>``, ``&``, quotes, and the
    backslash. Graphviz decodes entities first and then still expands ``\\N``, ``\\G``
    and ``\\\\`` in HTML labels, so every backslash is written twice."""
    return html.escape(str(value), quote=True).replace("\\", "&#92;&#92;")


def shape_text(shape: list[int] | None) -> str:
    if shape is None:
        return ""
    if not shape:
        return "scalar"
    return "shape " + "×".join(str(s) for s in shape)


def as_summary(value: Any) -> dict[str, Any] | None:
    """A tensor summarised (once per visible box: label and tooltip both read it)."""
    return summarize(value) if isinstance(value, torch.Tensor) else value


def value_text(summary: dict[str, Any] | None, digits: int = 4) -> str | None:
    """Scalars to 4 significant digits, small tensors in full, large ones as min/max."""
    if summary is None:
        return None
    data = summary.get("data")
    if data is not None and summary.get("numel", 1) > FULL_VALUES_IN_LABEL:
        flat = torch.as_tensor(data, dtype=torch.float64).flatten()
        return (f"min {format_number(flat.min().item(), digits)} "
                f"max {format_number(flat.max().item(), digits)}")
    if data is None and "min" in summary:
        return (f"min {format_number(summary['min'], digits)} "
                f"max {format_number(summary['max'], digits)}")
    return format_summary(summary, digits)


def wrap(line: str) -> list[str]:
    if len(line) <= WRAP_AT and line.isprintable() and not line.endswith(" "):
        return [line]  # most lines (a scalar's value): what textwrap would return
    return _at_most_shown(textwrap.wrap(line, WRAP_AT, break_long_words=True) or [""])


def _at_most_shown(lines: list[str]) -> list[str]:
    """The first MAX_VALUE_LINES lines, the last cut with "…" when there were more."""
    if len(lines) > MAX_VALUE_LINES:
        lines = [*lines[:MAX_VALUE_LINES - 1], lines[MAX_VALUE_LINES - 1][:WRAP_AT - 1] + "…"]
    return lines


def node_label(node: Node, theme: Theme, detailed: bool = True) -> str:
    """The HTML-like label of ``node`` (the ``<...>`` included)."""
    look = theme.nodes[node.kind]
    rows: list[str] = []
    big = theme.font_size * 1.15
    if node.name:
        rows.append(f'<TR><TD><FONT POINT-SIZE="{big:.0f}"><B>{text(node.name)}</B>'
                    "</FONT></TD></TR>")
    op_line = _op_line(node)
    if op_line:
        rows.append(f"<TR><TD>{text(op_line)}</TD></TR>")
    if detailed:
        shape = shape_text(node.shape)
        if shape:
            rows.append(f'<TR><TD><FONT POINT-SIZE="{theme.font_size * 0.85:.0f}">'
                        f"{text(shape)}</FONT></TD></TR>")
        for key, value in node.attrs:
            rows.append(f"<TR><TD>{text(key)} = {text(value)}</TD></TR>")
        rows += _number_rows("value", value_text(node.value), look.text, theme)
        rows += _number_rows(node.grad_label, value_text(node.grad), theme.grad_text, theme)
        if node.pending:
            rows += _number_rows(node.grad_label, "not reached yet",
                                 look.text, theme)
        elif node.grad is None and node.grad_missing:
            rows += _number_rows(node.grad_label, "None (no gradient reached it)",
                                 look.text, theme)
    for note in node.notes:
        rows += [f"<TR><TD><I>{text(line)}</I></TD></TR>" for line in wrap(note)]
    if not rows:
        rows.append(f"<TR><TD>{text(node.id)}</TD></TR>")
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            + "".join(rows) + "</TABLE>>")


def edge_label(label: str) -> str:
    """An edge's words as an HTML-like label (escaped like every node label)."""
    return f"<{text(label)}>"


def _op_line(node: Node) -> str | None:
    if node.custom:  # torch's "LegendrePolynomial3Backward" is the learner's class
        return f"{node.custom} · your autograd.Function"
    if node.kind in ("leaf", "output", "base", "saved", "untracked", "folded") \
            and node.op in (None, "AccumulateGrad"):
        return None
    if node.words and node.op and node.words.lower() != node.op.lower():
        return f"{node.words} · {node.op}"
    return node.op or node.words


def wrap_numbers(line: str) -> list[str]:
    """:func:`wrap` for a line of numbers (``.grad [0.1, -2, 3e-08]``): the same lines,
    without textwrap's regular expressions, which cost a fifth of a large graph's labels.
    Other lines go to :func:`wrap`: short ones (its own shortcut) and any with tabs,
    double spaces, a word longer than a line, or a letter before a hyphen or a double
    hyphen (where textwrap may break)."""
    if len(line) <= WRAP_AT:
        return wrap(line)
    words = line.split(" ")
    if (not line.isprintable() or "" in words or max(map(len, words)) > WRAP_AT
            or "--" in line or _HYPHEN_AFTER_LETTER.search(line)):
        return wrap(line)
    lines, current = [], words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) > WRAP_AT:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}"
    lines.append(current)
    return _at_most_shown(lines)


def _number_rows(label: str, value: str | None, colour: str, theme: Theme) -> list[str]:
    if value is None:
        return []
    lines = wrap_numbers(f"{label} {value}")
    start, end = ("<B>", "</B>") if theme.bold_numbers else ("", "")
    return [f'<TR><TD><FONT COLOR="{colour}" FACE="{text(theme.mono_font)}">{start}'
            f"{text(line)}{end}</FONT></TD></TR>" for line in lines]


def quoted_attribute(value: str) -> str:
    """Text for a plain (non-HTML) attribute such as a tooltip, shown as typed, as a
    quoted DOT string ready to write after ``tooltip=``.

    Graphviz decodes entities there and expands backslash escapes in more than one pass
    (differently in the dot program and in the browser's WebAssembly build), so ``&``
    becomes ``&amp;`` and a backslash is shown as its lookalike ``⧵`` (U+29F5). With no
    backslash left, quoting is only escaping ``"``: what the graphviz package's ``quote``
    writes for the same text, without its regular expressions (one tooltip per box)."""
    plain = value.replace("&", "&amp;").replace("\\", "⧵")
    return '"' + plain.replace('"', '\\"') + '"'


def tooltip(node: Node) -> str:
    """Plain text for the hover box; pass it through :func:`quoted_attribute`."""
    parts = [node.name or "", _op_line(node) if node.custom else
             node.op or node.words or node.kind, shape_text(node.shape)]
    full = value_text(node.value, digits=8)
    if full is not None:
        parts.append(f"value {full}")
    grad = value_text(node.grad, digits=8)
    if grad is not None:
        parts.append(f"{node.grad_label} {grad}")
    parts += node.notes
    return " | ".join(p for p in parts if p)
