"""Second derivatives: the graph autograd records when it differentiates a gradient.

``torch.autograd.grad(out, x, create_graph=True)`` runs the backward pass *with recording
on*, so the gradient ``g = dout/dx`` is itself a tensor with a ``grad_fn``: the backward
pass became a new graph (``cos(y) · 2x`` for ``sin(x²)``), whose nodes are the operations
backward ran, joined to the forward values it read (``y = x²``, the leaf ``x``). Running
backward from ``g`` differentiates that graph: ``x.grad`` becomes ``d²out/dx²``.

:func:`gradient_graph_in_process` does exactly that and returns a
:class:`engine.running.run.RunResult` whose ``.graph`` is ``g``'s graph in the same plain format
as a run's (so ``graphviz_utils.to_dot`` draws it), with the gradient of the second
backward at every node. Values shown in it are only ones torch really computed: the
forward values the program recorded, the gradients backward sent between nodes (hooked
while the first backward ran), and tensors the gradient's graph saved for its own
backward. The rest stay None rather than being recomputed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch

from engine.errors import ProgramError, ProgramRefused
from engine.limits import Limits
from engine.running.graph import (
    FREED,
    SMALL_ENOUGH_TO_COPY,
    GraphRecorder,
    saved_values,
    walk_nodes,
)
from engine.running.interpreter import Interpreter
from engine.running.run import RunOptions, RunResult, choose_output, guarded_run
from engine.running.summary import summarize
from engine.teaching import explain

_MISSING_OP = re.compile(r"derivative for (?:aten::)?(\w+) is not implemented")
_MISSING_ARGUMENT = re.compile(r"the derivative for '(\w+)' is not implemented")


def missing_derivative_sentence(text: str) -> str | None:
    """Torch's "derivative ... is not implemented" as a learner's sentence (no final
    period), or None for any other message. Shared with the f'' curve (engine.running.curve)."""
    found = _MISSING_OP.search(text)
    if found:
        op = found.group(1)
        if op.endswith("_backward"):
            return (f"torch has no second derivative for `{op.removesuffix('_backward')}`"
                    f" (the function its backward pass runs, {op}, cannot itself be "
                    f"differentiated) (torch: {text.rstrip('.')})")
        return f"torch has no derivative for `{op}` (torch: {text.rstrip('.')})"
    found = _MISSING_ARGUMENT.search(text)
    if found:
        return (f"torch cannot differentiate this function with respect to its argument "
                f"`{found.group(1)}` (torch: {text.rstrip('.')})")
    return None


def gradient_graph_in_process(source: str, inputs: Mapping[str, Any] | None, wrt: str,
                              options: RunOptions, limits: Limits) -> RunResult:
    """Run the program, take ``g = dout/dwrt`` with ``create_graph=True``, then backward
    from ``g``. Never raises for anything a program does: refusals go to ``.error``.

    ``output`` is ``g`` (named ``dout/dwrt``), ``grads`` is ``{wrt: d²out/dwrt²}``,
    ``variables``, ``printed`` and ``echoes`` are the program's, and ``graph`` is the
    graph of ``g`` (see the module docstring). A gradient that autograd computed without
    recording anything (``y = 3 * x``: g is the constant 3) has an empty graph, a second
    derivative of 0 and a warning saying why.
    """
    def differentiate(interpreter: Interpreter, leaves: dict[str, torch.Tensor],
                      result: RunResult) -> None:
        interpreter.recorder.finish()  # the program's own backward hooks stay out
        _copy_program(interpreter, result)
        _differentiate_twice(interpreter, leaves, wrt, options, result)

    return guarded_run(source, inputs, options, limits, differentiate)


def _copy_program(interpreter: Interpreter, result: RunResult) -> None:
    """What the program itself produced, as run_program reports it (detached copies)."""
    tensors = {n: v for n, v in interpreter.env.items() if isinstance(v, torch.Tensor)}
    result.variables = {n: v.detach().clone() for n, v in tensors.items()}
    result.printed = "".join(interpreter.printed)
    result.echoes = interpreter.echoes
    result.warnings = list(interpreter.warnings)
    result.backward_called = bool(interpreter.backward_roots)


def _differentiate_twice(interpreter: Interpreter, leaves: dict[str, torch.Tensor], wrt: str,
                         options: RunOptions, result: RunResult) -> None:
    out_name, output = choose_output(interpreter, options)
    label = f"`{out_name}`" if out_name else "the output"
    output = _checked_output(interpreter, output, out_name, label)
    leaf = _wrt_leaf(interpreter, leaves, wrt)
    recorder = _inherit_names(interpreter.recorder)
    with torch.enable_grad():  # create_graph records only with grad mode on
        g = _first_backward(output, leaf, recorder, out_name or "out", label, wrt)
    name = f"d{out_name or 'out'}/d{wrt}"
    result.output, result.output_name = g.detach().clone(), name
    if g.grad_fn is None:
        result.grads = {wrt: torch.zeros_like(leaf).detach()}
        result.graph = GraphRecorder().build(roots=[], output=None, variables={})
        result.warnings.append(
            f"{name} = {_number(g)} was computed without recording any operation (to "
            f"autograd it is a constant), so its graph is empty and the second derivative "
            f"is 0.")
        return
    recorder.node_names[g.grad_fn] = name
    recorder.node_values[g.grad_fn] = g.detach().clone()
    _values_saved_in(g, recorder)
    _second_backward(g, leaf, recorder, name, wrt, result)


def _wrt_leaf(interpreter: Interpreter, leaves: dict[str, torch.Tensor],
              wrt: str) -> torch.Tensor:
    """The leaf to differentiate with respect to: an input box's leaf, or a tensor the
    program made with ``requires_grad=True``; refused with the reason otherwise."""
    value = leaves.get(wrt)
    if value is None:
        value = interpreter.env.get(wrt)
    if not isinstance(value, torch.Tensor):
        raise _refuse(f"there is no input or tensor variable called `{wrt}`.")
    if not value.requires_grad:
        fix = "its requires_grad switch is off" if wrt in leaves else \
            "create it with requires_grad=True"
        raise _refuse(f"`{wrt}` does not require grad ({fix}), so autograd recorded nothing "
                      "to differentiate with respect to it.")
    if not value.is_leaf:
        raise _refuse(f"`{wrt}` is computed from other tensors; a derivative is taken with "
                      "respect to a leaf (an input, or a tensor made with "
                      "requires_grad=True).")
    if value.numel() != 1:
        raise _refuse(f"`{wrt}` has {value.numel()} elements; the second derivative here "
                      "is taken with respect to one number.")
    return value


def _checked_output(interpreter: Interpreter, output: torch.Tensor | None,
                    out_name: str | None, label: str) -> torch.Tensor:
    if output is None:
        raise _refuse("the program has no tensor output to differentiate.")
    if output.numel() != 1:
        raise _refuse(f"{label} has {output.numel()} elements; differentiating it needs one "
                      f"number. Use {out_name or 'it'}.sum() or {out_name or 'it'}.mean().")
    if not output.requires_grad:
        because = interpreter.why_of(out_name) if out_name else explain.why(None)
        raise _refuse(f"{label} was not recorded by autograd, because "
                      f"{because}; there is no gradient to differentiate again.")
    return output


def _inherit_names(program: GraphRecorder) -> GraphRecorder:
    """A fresh recorder for the gradient's graph that knows the program's names and
    forward values: the forward nodes the gradient reads (``y = x²``) keep them."""
    return GraphRecorder(node_values=dict(program.node_values),
                         node_names=dict(program.node_names),
                         leaf_names=dict(program.leaf_names))


def _first_backward(output: torch.Tensor, leaf: torch.Tensor, recorder: GraphRecorder,
                    out_name: str, label: str, wrt: str) -> torch.Tensor:
    """``dout/dleaf`` with ``create_graph=True``. Hooks on the forward nodes catch each
    gradient backward sends: with recording on, every one is a node of g's graph, so
    its value is known, and the one arriving at a named node gets the name ``dout/dy``."""
    handles = [node.register_hook(_message_hook(node, recorder, out_name))
               for node in walk_nodes([output.grad_fn])]
    try:
        (g,) = torch.autograd.grad(output, leaf, create_graph=True, allow_unused=True)
    except RuntimeError as exc:
        raise _refuse(_first_backward_problem(exc, label), "autograd") from None
    finally:
        for handle in handles:
            handle.remove()
    if g is None:
        raise _refuse(f"{label} does not depend on `{wrt}` through operations autograd "
                      f"recorded (no path in the graph leads from {label} back to `{wrt}`), "
                      "so there is no gradient to differentiate again.")
    return g


def _message_hook(node: Any, recorder: GraphRecorder, out_name: str):
    name = _forward_name(node, recorder)

    def hook(grad_inputs: tuple, grad_outputs: tuple) -> None:
        arriving = grad_outputs[0] if grad_outputs else None
        _know(recorder, arriving, f"d{out_name}/d{name}" if name else None)
        for sent in grad_inputs:
            _know(recorder, sent, None)
    return hook


def _forward_name(node: Any, recorder: GraphRecorder) -> str | None:
    if type(node).__name__ == "AccumulateGrad":
        return recorder.leaf_names.get(id(node.variable), (None,))[0]
    return recorder.node_names.get(node)


def _know(recorder: GraphRecorder, tensor: Any, name: str | None) -> None:
    """Remember the value (and a name) of the node that made ``tensor``, if it has one
    and it is the node's first output (a node with several outputs has no one value)."""
    if not isinstance(tensor, torch.Tensor) or tensor.grad_fn is None \
            or tensor.output_nr != 0:
        return
    recorder.node_values.setdefault(tensor.grad_fn, tensor.detach().clone()
                                    if tensor.numel() <= SMALL_ENOUGH_TO_COPY
                                    else summarize(tensor))
    if name and tensor.grad_fn not in recorder.node_names:
        recorder.node_names[tensor.grad_fn] = name


def _values_saved_in(g: torch.Tensor, recorder: GraphRecorder) -> None:
    """Values of g's inner nodes that torch saved for differentiating g (``cos(y)`` in
    ``dz/dy = 1 · cos(y)``): read before the second backward frees them."""
    for node in walk_nodes([g.grad_fn]):
        for _, value in saved_values(node):
            if value is not FREED:
                _know(recorder, value, None)


def _second_backward(g: torch.Tensor, leaf: torch.Tensor, recorder: GraphRecorder,
                     name: str, wrt: str, result: RunResult) -> None:
    """Backward from g with every node hooked; leaves start without .grad, so each shows
    only what this pass gave it (other leaves: mixed second derivatives)."""
    for node in walk_nodes([g.grad_fn]):
        if type(node).__name__ == "AccumulateGrad":
            node.variable.grad = None
    recorder.before_backward(g)
    try:
        with torch.enable_grad():
            g.backward()
        result.auto_backward = True
    except RuntimeError as exc:
        sentence = missing_derivative_sentence(explain.torch_sentence(exc)) or \
            explain.torch_sentence(exc)
        result.error = ProgramError(f"The graph of {name} was recorded, but backward "
                                    f"cannot run through it: {sentence}.", "autograd")
    finally:
        recorder.finish()
    if result.error is None:
        second = leaf.grad
        result.grads = {wrt: (torch.zeros_like(leaf) if second is None else second)
                        .detach().clone()}
        if second is None:
            result.warnings.append(
                f"{name} does not depend on {wrt} (its graph reaches only other leaves), so "
                f"the second derivative is 0; the other leaves' .grad are mixed second "
                f"derivatives.")
    result.graph = recorder.build(roots=[g], output=g, variables={})


def _first_backward_problem(exc: RuntimeError, label: str) -> str:
    text = explain.torch_sentence(exc)
    if "backward through the graph a second time" in text:
        return (f"the program already ran backward() through the graph of {label}, and "
                "torch freed the values it saved for backward, so the gradient cannot be "
                "taken again. Remove that backward() call (the gradient is taken here), or "
                f"write backward(retain_graph=True). (torch: {text})")
    if "modified by an inplace operation" in text:
        return explain.explain_backward_error(exc, None, None, None)[1]
    missing = missing_derivative_sentence(text)
    return f"{missing}." if missing else f"the gradient could not be computed ({text})."


def _number(t: torch.Tensor) -> str:
    return f"{t.item():.4g}" if t.numel() == 1 else str(list(t.shape))


def _refuse(message: str, kind: str = "refused") -> ProgramRefused:
    return ProgramRefused(ProgramError(f"The gradient's graph cannot be built: {message}",
                                       kind))
