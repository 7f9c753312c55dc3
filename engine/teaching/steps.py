"""The backward pass step by step: what each node received, what it sent on, and why.

Torch runs backward node by node; :class:`engine.running.graph.GraphRecorder` hooks every node and
keeps, in torch's own execution order, the gradient that arrived, the gradients sent to
each input and the values the node saved for backward (read inside the hook, before a
backward without ``retain_graph`` frees them). This module turns that into one step per
node, with the chain rule at the node written out in LaTeX:

    to y:  dL/dz · dz/dy = 1 · cos(y) = 1 · cos(16) = -0.9577

The local derivative ``dz/dy`` comes from :data:`LOCAL_RULES`, a table of textbook
derivatives evaluated in float64 from the forward values; the number after the last
``=`` is always what torch sent. Where the two disagree (a kink such as relu at 0) or the
values are not single numbers, the middle part is left out and torch's number stands.
To teach a new operation, add one entry to the table.
"""

from __future__ import annotations

import ast
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch

from engine.language import parsing
from engine.running.summary import format_number, format_summary, summarize

MAX_STEPS = 400  # nodes whose saved values are kept for the chain-rule text


@dataclass(frozen=True)
class Operand:
    """One number in a local derivative: its LaTeX symbol and its value if it is a
    single number (None for vectors and for what the node did not keep)."""

    tex: str
    value: float | None


@dataclass(frozen=True)
class Local:
    """A local derivative: symbolic LaTeX, the same with numbers put in, and its value."""

    symbolic: str
    numeric: str | None
    value: float | None


@dataclass(frozen=True)
class Context:
    """What a rule may read: the inputs ``a`` (self) and ``b`` (other), the node's own
    output ``o`` and the numbers it saved (``exponent``, ``min``, ``alpha`` ...)."""

    a: Operand
    b: Operand
    o: Operand
    saved: dict[str, float | None]


def tex_number(x: float | None, bracket: bool = True) -> str:
    """A float as LaTeX (``1e-08`` as ``1 \\times 10^{-8}``), in parentheses if negative
    (``bracket``), so it can stand in a product."""
    if x is None:
        return r"\,?\,"
    text = format_number(float(x))
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    if text == "inf":
        text = r"\infty"
    if text == "-inf":
        text = r"-\infty"
    return f"({text})" if bracket and text.startswith("-") else text


@cache
def tex_name(name: str) -> str:
    """A variable name as LaTeX, as sympy writes it (``y_pred`` -> ``y_{pred}``)."""
    import sympy

    return sympy.latex(sympy.Symbol(name))


def _num(operand: Operand) -> str:
    return tex_number(operand.value)


def _known(*values: float | None) -> bool:
    return all(v is not None for v in values)


def _rule(symbolic: Callable[[Context], str], numeric: Callable[[Context], str],
          value: Callable[[Context], float], needs: str = "") -> Callable[[Context], Local]:
    """A local derivative from its three parts; ``needs`` lists the letters (a, b, o) and
    saved names whose values must be single numbers for the numbers to be put in."""
    def local(ctx: Context) -> Local:
        wanted = [getattr(ctx, n).value if n in "abo" else ctx.saved.get(n)
                  for n in needs.split()]
        if not _known(*wanted):
            return Local(symbolic(ctx), None, None)
        try:
            number = float(value(ctx))
        except (ArithmeticError, ValueError):
            return Local(symbolic(ctx), None, None)
        return Local(symbolic(ctx), numeric(ctx), number)
    return local


def _constant(number: float) -> Callable[[Context], Local]:
    """A local derivative that is the same number everywhere (add: 1, negate: -1)."""
    text = tex_number(number)
    return lambda ctx: Local(text, text, number)


def _exponent(ctx: Context) -> float:
    return ctx.saved["exponent"]  # type: ignore[return-value]


def _power(base: str, exponent: float) -> str:
    """``base^{exponent}`` as a textbook writes it: no ``^1``, ``1`` for ``^0``."""
    if exponent == 1:
        return base
    if exponent == 0:
        return "1"
    return rf"{base}^{{{tex_number(exponent, bracket=False)}}}"


def _pow_symbolic(ctx: Context) -> str:
    n = ctx.saved.get("exponent")
    if n is None:
        return rf"n\,{ctx.a.tex}^{{n-1}}"
    return rf"{tex_number(n)}\,{_power(ctx.a.tex, n - 1)}"


def _pow_numeric(ctx: Context) -> str:
    n = _exponent(ctx)
    return rf"{tex_number(n)} \cdot {_power(_num(ctx.a), n - 1)}"


# grad_fn name -> one local derivative per input (next_functions order: self, other).
LOCAL_RULES: dict[str, list[Callable[[Context], Local]]] = {
    "AddBackward0": [_constant(1.0),
                     _rule(lambda c: tex_number(c.saved.get("alpha") or 1.0),
                           lambda c: tex_number(c.saved.get("alpha") or 1.0),
                           lambda c: c.saved.get("alpha") or 1.0)],
    "SubBackward0": [_constant(1.0),
                     _rule(lambda c: tex_number(-(c.saved.get("alpha") or 1.0)),
                           lambda c: tex_number(-(c.saved.get("alpha") or 1.0)),
                           lambda c: -(c.saved.get("alpha") or 1.0))],
    "RsubBackward1": [_rule(lambda c: tex_number(-(c.saved.get("alpha") or 1.0)),
                            lambda c: tex_number(-(c.saved.get("alpha") or 1.0)),
                            lambda c: -(c.saved.get("alpha") or 1.0))],
    "NegBackward0": [_constant(-1.0)],
    "MulBackward0": [_rule(lambda c: c.b.tex, lambda c: _num(c.b), lambda c: c.b.value,
                           "b"),
                     _rule(lambda c: c.a.tex, lambda c: _num(c.a), lambda c: c.a.value,
                           "a")],
    "DivBackward0": [_rule(lambda c: rf"\frac{{1}}{{{c.b.tex}}}",
                           lambda c: rf"\frac{{1}}{{{_num(c.b)}}}",
                           lambda c: 1.0 / c.b.value, "b"),
                     _rule(lambda c: rf"-\frac{{{c.a.tex}}}{{{c.b.tex}^{{2}}}}",
                           lambda c: rf"-\frac{{{_num(c.a)}}}{{{_num(c.b)}^{{2}}}}",
                           lambda c: -c.a.value / c.b.value**2, "a b")],
    "PowBackward0": [_rule(_pow_symbolic, _pow_numeric,
                           lambda c: _exponent(c) * c.a.value ** (_exponent(c) - 1),
                           "a exponent")],
    "SinBackward0": [_rule(lambda c: rf"\cos({c.a.tex})", lambda c: rf"\cos({_num(c.a)})",
                           lambda c: math.cos(c.a.value), "a")],
    "CosBackward0": [_rule(lambda c: rf"-\sin({c.a.tex})", lambda c: rf"-\sin({_num(c.a)})",
                           lambda c: -math.sin(c.a.value), "a")],
    "ExpBackward0": [_rule(lambda c: rf"e^{{{c.a.tex}}}", lambda c: _num(c.o),
                           lambda c: c.o.value, "o")],
    "LogBackward0": [_rule(lambda c: rf"\frac{{1}}{{{c.a.tex}}}",
                           lambda c: rf"\frac{{1}}{{{_num(c.a)}}}",
                           lambda c: 1.0 / c.a.value, "a")],
    "SqrtBackward0": [_rule(lambda c: rf"\frac{{1}}{{2\sqrt{{{c.a.tex}}}}}",
                            lambda c: rf"\frac{{1}}{{2 \cdot {_num(c.o)}}}",
                            lambda c: 0.5 / c.o.value, "o")],
    "TanhBackward0": [_rule(lambda c: rf"1 - \tanh^{{2}}({c.a.tex})",
                            lambda c: rf"1 - {_num(c.o)}^{{2}}",
                            lambda c: 1.0 - c.o.value**2, "o")],
    "SigmoidBackward0": [_rule(lambda c: rf"\sigma({c.a.tex})\,(1 - \sigma({c.a.tex}))",
                               lambda c: rf"{_num(c.o)} \cdot (1 - {_num(c.o)})",
                               lambda c: c.o.value * (1.0 - c.o.value), "o")],
    "ReluBackward0": [_rule(lambda c: rf"[{c.a.tex} > 0]",
                            lambda c: rf"[{_num(c.o)} > 0]",
                            lambda c: 1.0 if c.o.value > 0 else 0.0, "o")],
    "AbsBackward0": [_rule(lambda c: rf"\operatorname{{sign}}({c.a.tex})",
                           lambda c: rf"\operatorname{{sign}}({_num(c.a)})",
                           lambda c: float(math.copysign(1.0, c.a.value))
                           if c.a.value else 0.0, "a")],
    "ReciprocalBackward0": [_rule(lambda c: rf"-\frac{{1}}{{{c.a.tex}^{{2}}}}",
                                  lambda c: rf"-{_num(c.o)}^{{2}}",
                                  lambda c: -c.o.value**2, "o")],
    "ClampBackward1": [_rule(
        lambda c: rf"[{tex_number(c.saved.get('min'))} \le {c.a.tex} \le "
                  rf"{tex_number(c.saved.get('max'))}]",
        lambda c: rf"[{tex_number(c.saved.get('min'))} \le {_num(c.a)} \le "
                  rf"{tex_number(c.saved.get('max'))}]",
        lambda c: 1.0 if (c.saved.get("min") is None or c.a.value >= c.saved["min"])
        and (c.saved.get("max") is None or c.a.value <= c.saved["max"]) else 0.0, "a")],
    "MeanBackward0": [_rule(lambda c: rf"\frac{{1}}{{{int(c.saved['self_sym_numel'])}}}",
                            lambda c: rf"\frac{{1}}{{{int(c.saved['self_sym_numel'])}}}",
                            lambda c: 1.0 / c.saved["self_sym_numel"], "self_sym_numel")],
    "SumBackward0": [_constant(1.0)],
}


def scalar(value: Any) -> float | None:
    """A single number as a float: a one-element tensor, a number, or a summary of one
    (None for anything else: the table's numbers are put in for single numbers only)."""
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else None
    if isinstance(value, dict):
        data = value.get("data")
        return float(data) if value.get("numel") == 1 and isinstance(data, (int, float)) \
            else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


# -- one step ---------------------------------------------------------------------------
@dataclass
class StepInput:
    """What the builder knows about one node when it writes its step."""

    node_id: str
    op: str
    name: str | None
    words: str
    arriving: Any  # summary (or tensor snapshot)
    sent: list[Any]  # per input (next_functions order), summaries (or snapshots)
    children: list[tuple[str | None, str | None, str]]  # (child id, child's LaTeX, words)
    child_values: list[Any]  # forward value of each input, when known
    own_value: Any
    saved: dict[str, Any]
    consumers: list[int]  # per input: how many recorded nodes read that input


def box_tex(name: str | None, words: str) -> str:
    """How a node is named in the formulas: its variable, or its box's words."""
    return tex_name(name) if name else rf"\boxed{{\text{{{words}}}}}"


def _value_tex(value: Any) -> str:
    """A gradient or value as LaTeX: a single number as a number, else its summary."""
    summary = _summary(value)
    if summary is None:
        return r"\text{None}"
    data = summary.get("data")
    if summary.get("numel") == 1 and isinstance(data, (int, float)):
        return tex_number(float(data), bracket=False)
    return rf"\text{{{format_summary(summary)}}}"


def _operand(tex: str, value: Any) -> Operand:
    return Operand(tex, scalar(value))


def build_step(step: StepInput, root_tex: str, order: int) -> dict[str, Any]:
    """Plain data for the step at ``order``: received, sent, and the LaTeX lines."""
    this = box_tex(step.name, step.words)
    arriving = scalar(step.arriving)
    arriving_summary = _summary(step.arriving)
    received = rf"\frac{{\partial {root_tex}}}{{\partial {this}}} = {_value_tex(arriving_summary)}"
    sends: list[dict[str, Any]] = []
    lines: list[str] = []
    if step.op == "AccumulateGrad":
        lines.append(rf"\texttt{{{step.name or 'leaf'}.grad}} \mathrel{{+}}= "
                     rf"\frac{{\partial {root_tex}}}{{\partial {this}}} = "
                     f"{_value_tex(arriving_summary)}")
        return {"order": order, "node": step.node_id, "op": step.op, "name": step.name,
                "received": received, "arriving": arriving_summary, "sends": sends,
                "latex": lines, "rule": "leaf"}
    rules = LOCAL_RULES.get(step.op)
    ctx = _context(step)
    for index, grad in enumerate(step.sent):
        child_id, child_tex, child_words = step.children[index] if index < len(
            step.children) else (None, None, "")
        grad_summary = _summary(grad)
        sends.append({"to": child_id, "index": index, "grad": grad_summary})
        if grad is None or child_id is None:
            continue
        target = child_tex or box_tex(None, child_words)
        local = rules[index](ctx) if rules and index < len(rules) else None
        lines.append(_chain_line(root_tex, this, target, local, arriving, grad_summary,
                                 step.consumers[index] > 1 if index < len(
                                     step.consumers) else False,
                                 single=scalar(grad) is not None and arriving is not None))
    return {"order": order, "node": step.node_id, "op": step.op, "name": step.name,
            "received": received, "arriving": arriving_summary, "sends": sends,
            "latex": lines, "rule": "table" if rules else "torch"}


def _summary(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) or value is None else summarize(value)


def _context(step: StepInput) -> Context:
    saved = step.saved
    a_value = saved.get("self", step.child_values[0] if step.child_values else None)
    b_value = saved.get("other", step.child_values[1] if len(step.child_values) > 1
                        else None)
    o_value = saved.get("result", step.own_value)
    a_tex = step.children[0][1] if step.children and step.children[0][1] else (
        tex_number(scalar(a_value)) if scalar(a_value) is not None else r"\text{self}")
    b_tex = step.children[1][1] if len(step.children) > 1 and step.children[1][1] else (
        tex_number(scalar(b_value)) if scalar(b_value) is not None else r"\text{other}")
    numbers = {k: scalar(v) for k, v in saved.items()}
    return Context(_operand(a_tex, a_value), _operand(b_tex, b_value),
                   _operand(box_tex(step.name, step.words), o_value), numbers)


def _chain_line(root: str, this: str, target: str, local: Local | None,
                arriving: float | None, sent: dict[str, Any] | None, shared: bool,
                single: bool) -> str:
    """``dL/dy (+)= dL/dz · dz/dy = g · f'(y) = g · f'(16) = sent``, one ``=`` per line
    (an ``aligned`` block with small fractions: a narrow column, or a projector's large
    type, shows it without scrolling). ``g`` is the arriving gradient as a number where
    it is one, so each line after the first holds a single fraction at most."""
    lhs = rf"\tfrac{{\partial {root}}}{{\partial {target}}}"
    relation = r"\mathrel{+}=" if shared else "="
    times = r"\cdot" if single else r"\odot"
    arriving_tex = tex_number(arriving) if arriving is not None and single else \
        rf"\tfrac{{\partial {root}}}{{\partial {this}}}"
    parts = [rf"\tfrac{{\partial {root}}}{{\partial {this}}} {times} "
             rf"\tfrac{{\partial {this}}}{{\partial {target}}}"]
    if local is not None:
        parts.append(rf"{arriving_tex} {times} {local.symbolic}")
        sent_value = scalar(sent.get("data")) if sent and sent.get("numel") == 1 and \
            not isinstance(sent.get("data"), list) else None
        if local.numeric is not None and arriving is not None and local.value is not None \
                and sent_value is not None and _agrees(arriving * local.value, sent_value):
            parts.append(rf"{tex_number(arriving)} \cdot {local.numeric}")
    parts.append(_value_tex(sent))
    return (r"\begin{aligned}" + rf"{lhs} &{relation} " + r" \\ &= ".join(parts)
            + r"\end{aligned}")


def _agrees(by_hand: float, by_torch: float) -> bool:
    """Whether the textbook product matches torch's float32 number (else it is left
    out: the page never shows an equation that does not hold)."""
    if not (math.isfinite(by_hand) and math.isfinite(by_torch)):
        return by_hand == by_torch
    return abs(by_hand - by_torch) <= 1e-4 * max(1.0, abs(by_torch))


# -- the program's own autograd.Function ------------------------------------------------
@dataclass(frozen=True)
class CustomBackward:
    """A step that ran the backward the learner wrote: its source with the program's
    line numbers, and in words what torch passed it and what it gave back."""

    class_name: str
    numbered_source: str
    sentence: str


def custom_backward(step: dict[str, Any], node: dict[str, Any],
                    names: dict[str, str | None], root: str | None = None,
                    ) -> CustomBackward | None:
    """What the step view shows when backward reaches a custom Function's node (None for
    any other node). ``names``: each drawn node's id -> the learner's name for it, to say
    where each returned gradient goes; ``root``: the name backward started from."""
    custom = node.get("custom")
    if not custom:
        return None
    code = str(custom.get("code") or "")
    parameters = _backward_parameters(code, len(custom.get("received") or ()))
    received = [f"{name} = {format_summary(grad) if grad is not None else 'None'}"
                for name, grad in zip(parameters, custom.get("received") or (), strict=False)]
    returned = custom.get("returned") or []
    targets = {send["index"]: send["to"] for send in step.get("sends", [])}
    gave = []
    for index, grad in enumerate(returned):
        to = targets.get(index)
        where = f" for `{names[to]}`" if to and names.get(to) else \
            " for an input that needs no gradient" if to is None else ""
        gave.append((format_summary(grad) if grad is not None else "None") + where)
    name = node.get("name")
    of = (f" (d{root}/d{name}: the gradient of `{root}` with respect to `{name}`)"
          if name and root else "")
    sentence = (f"Torch called your `{custom['class']}.backward` with "
                f"{', '.join(received) or 'no gradient'}{of}. It returned "
                f"{'; '.join(gave) or 'nothing'}: torch sends that on along the arrows, "
                "as if a built-in operation had computed it.")
    return CustomBackward(str(custom["class"]), _numbered(code, int(custom.get("line") or 1)),
                          sentence)


def _backward_parameters(code: str, count: int) -> list[str]:
    """The names the learner gave backward's gradient parameters (``grad_output``), one
    per gradient received; parsed, never run. ``*grads`` reads as ``grads[0]`` ..."""
    names: list[str] = []
    try:
        definition = parsing.parse(textwrap.dedent(code)).body[0]
    except (SyntaxError, IndexError, ValueError):
        definition = None
    if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        arguments = definition.args
        names = [a.arg for a in [*arguments.posonlyargs, *arguments.args][1:]]
        if arguments.vararg is not None:
            names += [f"{arguments.vararg.arg}[{i}]" for i in range(count)]
    names += [f"grad_outputs[{i}]" for i in range(len(names), count)]
    return names[:count]


def _numbered(code: str, first_line: int) -> str:
    """The source as the editor shows it: each line after its number in the program."""
    lines = textwrap.dedent(code).splitlines()
    width = len(str(first_line + len(lines) - 1))
    return "\n".join(f"{first_line + i:>{width}}  {line}" for i, line in enumerate(lines))
