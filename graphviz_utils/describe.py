"""A graph in words, for screen readers: the ``alt`` text of every drawn graph.

Every box graphviz_utils draws carries a one-line summary as its tooltip (name,
operation, shape, value, gradient), and every arrow autograd did not record carries its
reason as a label. Read back from the DOT, in the order the graph runs (inputs first,
the output last), they say what a sighted learner sees, for any of the graphs: the
annotated one, a backward step, the program as written, the gradient's own graph.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from graphviz_utils.size import EDGE_STATEMENT, NODE_STATEMENT, longest_path_ranks

MAX_CHARS = 2_000  # past this a screen reader's summary becomes a wall of numbers
_TOOLTIP = re.compile(r'\btooltip="((?:[^"\\]|\\.)*)"')
_LABEL = re.compile(r"\blabel=(?:<(.*?)>|\"((?:[^\"\\]|\\.)*)\")(?= \w+=|$)")
_TAG = re.compile(r"<[^>]+>")


def _box(tooltip: str) -> str:
    """``x | AccumulateGrad | scalar | value 4 | .grad 16`` as ``x: AccumulateGrad,
    scalar, value 4, .grad 16``."""
    fields = [f.strip() for f in html.unescape(tooltip).replace('\\"', '"').split(" | ")]
    fields = [f for f in fields if f]
    if len(fields) < 2:
        return ", ".join(fields)
    if fields[1] == "AccumulateGrad":  # torch's name for what a learner knows as a leaf
        fields[1] = "leaf"
    return f"{fields[0]}: {', '.join(fields[1:])}"


@lru_cache(maxsize=256)
def describe_dot(dot_source: str, title: str) -> str:
    """``title``, then every box in running order, then every arrow drawn as not
    recorded with its reason, within MAX_CHARS. Cached per source and title, as the
    page draws the same graph for every student of a class opening one link."""
    boxes: dict[str, str] = {}
    for name, _label, attributes in NODE_STATEMENT.findall(dot_source):
        tooltip = _TOOLTIP.search(attributes)
        if tooltip and tooltip.group(1) != "legend":
            boxes[name] = _box(tooltip.group(1))
    edges = [(s, t, a or "") for s, t, a in EDGE_STATEMENT.findall(dot_source)
             if s in boxes and t in boxes]
    ranks = longest_path_ranks(list(boxes), [(s, t) for s, t, _ in edges])
    ordered = sorted(boxes, key=lambda name: (ranks[name], list(boxes).index(name)))
    parts = [f"{title}: {len(boxes)} box{'es' if len(boxes) != 1 else ''}, "
             "from the inputs to the output."]
    parts += [f"{boxes[name]}." for name in ordered]
    for source, target, attributes in edges:
        if "dashed" in attributes:
            label = _LABEL.search(attributes)
            reason = html.unescape(_TAG.sub("", (label.group(1) or label.group(2))
                                            if label else "")).strip()
            between = f"{boxes[source].split(':')[0]} to {boxes[target].split(':')[0]}"
            parts.append(f"Not recorded: {between}{f' ({reason})' if reason else ''}.")
    text = ""
    for count, part in enumerate(parts):
        if len(text) + len(part) + 1 > MAX_CHARS:
            return f"{text} … and {len(parts) - count} more items.".strip()
        text = f"{text} {part}".strip()
    return text
