"""One run of a learner's program: check, forward, backward, and the result as data.

:func:`run_in_process` is the whole pipeline in the calling process. The public
:func:`engine.run_program` sends it to a worker process by default (see
:mod:`engine.sandbox.pool`), where a runaway program can be stopped for real; notebooks and
tests may call it in-process with ``isolate=False``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from engine.errors import ProgramError, ProgramRefused, as_sentence
from engine.language.checker import CheckedProgram, check_program
from engine.language.values import ModuleValue
from engine.limits import DEFAULT_LIMITS, Limits
from engine.running import progress
from engine.running.graph import GraphRecorder
from engine.running.inputs import make_input
from engine.running.interpreter import Interpreter
from engine.running.objects.modules import qualified_name
from engine.teaching import explain


@dataclass
class RunResult:
    """What a run produced. Tensors are detached copies; ``graph`` is plain data."""

    error: ProgramError | None = None
    output: torch.Tensor | None = None
    output_name: str | None = None
    grads: dict[str, torch.Tensor | None] = field(default_factory=dict)
    retained: dict[str, torch.Tensor] = field(default_factory=dict)  # non-leaf .grad kept
    variables: dict[str, torch.Tensor] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    printed: str = ""
    echoes: list[dict[str, Any]] = field(default_factory=list)
    graph: dict[str, Any] = field(default_factory=lambda: {"nodes": [], "edges": [],
                                                           "dataflow": []})
    backward_called: bool = False
    grad_events: list[dict[str, Any]] = field(default_factory=list)  # see Interpreter
    auto_backward: bool = False
    seconds: float = 0.0
    line_runs: dict[int, int] = field(default_factory=dict)  # top-level lines: times run
    # one dict per backward() the program called (engine.running.training), and which of
    # them ``graph`` shows when RunOptions.graph_step picked one (None: the last)
    training: list[dict[str, Any]] = field(default_factory=list)
    graph_step: int | None = None


@dataclass(frozen=True)
class RunOptions:
    """The switches a page offers; see :func:`engine.run_program` for their meaning."""

    output: str | None = None
    no_grad: bool = False
    detach: frozenset[str] = frozenset()
    requires_grad: Mapping[str, bool] = field(default_factory=dict)
    retain_grad: bool | frozenset[str] = False
    dtype: str = "float32"
    auto_backward: bool = True
    seed: int = 0
    graph_step: int | None = None  # draw this backward() call's graph (1 = the first)

    @classmethod
    def build(cls, output: str | None = None, no_grad: bool = False,
              detach: Iterable[str] = (), requires_grad: Mapping[str, bool] | None = None,
              retain_grad: bool | Iterable[str] = False, dtype: str = "float32",
              auto_backward: bool = True, seed: int = 0,
              graph_step: int | None = None) -> RunOptions:
        retain = retain_grad if isinstance(retain_grad, bool) else frozenset(retain_grad)
        return cls(output, bool(no_grad), frozenset(detach), dict(requires_grad or {}),
                   retain, dtype, bool(auto_backward), int(seed),
                   None if graph_step is None else int(graph_step))


class TorchState:
    """The process-wide torch settings every viewer shares; a run must leave them as it
    found them. Captured before a run and restored (and compared) after it."""

    def __init__(self) -> None:
        self.dtype = torch.get_default_dtype()
        self.threads = torch.get_num_threads()
        self.grad = torch.is_grad_enabled()
        self.anomaly = torch.is_anomaly_enabled()
        self.deterministic = torch.are_deterministic_algorithms_enabled()
        self.rng = torch.get_rng_state()

    def restore(self) -> None:
        if torch.get_default_dtype() != self.dtype:
            torch.set_default_dtype(self.dtype)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        torch.set_grad_enabled(self.grad)
        if torch.is_anomaly_enabled() != self.anomaly:
            torch.autograd.set_detect_anomaly(self.anomaly)
        if torch.are_deterministic_algorithms_enabled() != self.deterministic:
            torch.use_deterministic_algorithms(self.deterministic)
        if not torch.equal(torch.get_rng_state(), self.rng):
            torch.set_rng_state(self.rng)

    def same_as(self, other: TorchState) -> bool:
        return (self.dtype, self.threads, self.grad, self.anomaly, self.deterministic) == (
            other.dtype, other.threads, other.grad, other.anomaly, other.deterministic
        ) and torch.equal(self.rng, other.rng)


def prepare(source: str, inputs: Mapping[str, Any] | None, options: RunOptions,
            limits: Limits) -> tuple[CheckedProgram, dict[str, torch.Tensor]]:
    """Inputs as leaf tensors, and the checked program (refusals raise ProgramRefused)."""
    leaves = {name: make_input(name, value, options.requires_grad.get(name, True),
                               options.dtype, limits)
              for name, value in (inputs or {}).items()}
    return check_program(source, limits, known_names=set(leaves)), leaves


def new_interpreter(program: CheckedProgram, leaves: dict[str, torch.Tensor],
                    options: RunOptions, limits: Limits) -> Interpreter:
    generator = torch.Generator().manual_seed(options.seed)
    interpreter = Interpreter(
        program=program, limits=limits, generator=generator,
        recorder=GraphRecorder(draw_call=options.graph_step),
        deadline=time.monotonic() + limits.time_limit_s, detach_names=options.detach,
        retain_grad=options.retain_grad, no_grad_option=options.no_grad,
        graph_step=options.graph_step)
    interpreter.switched_off.update(n for n, t in leaves.items() if not t.requires_grad)
    for name, leaf in leaves.items():
        interpreter.env[name] = leaf
        interpreter.recorder.named(name, leaf)
    return interpreter


RUNTIME_ERRORS = (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError,
                  OverflowError, MemoryError, KeyError, AttributeError, NameError,
                  AssertionError, StopIteration, NotImplementedError)


def guarded_run(source: str, inputs: Mapping[str, Any] | None, options: RunOptions,
                limits: Limits,
                then: Callable[[Interpreter, dict[str, torch.Tensor], RunResult], None],
                cleanup: Callable[[Interpreter, RunResult], None] | None = None,
                ) -> RunResult:
    """Check and run the program, then ``then(interpreter, input_leaves, result)``
    (backward, a second backward...), turning every refusal and failure into
    ``result.error``: never raises for anything a program does. ``cleanup`` runs whatever
    happened, once an interpreter exists (its hooks are removed first); torch's
    process-wide state is restored last."""
    started = time.perf_counter()
    state = TorchState()
    result = RunResult()
    interpreter: Interpreter | None = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                program, leaves = prepare(source, inputs, options, limits)
                interpreter = new_interpreter(program, leaves, options, limits)
                with torch.set_grad_enabled(not options.no_grad):
                    interpreter.run()
                then(interpreter, leaves, result)
            except ProgramRefused as refusal:
                result.error = refusal.error
            except RUNTIME_ERRORS as exc:
                node = interpreter.current if interpreter else None
                kind, message = explain.explain_runtime_error(
                    exc, getattr(node, "lineno", None), limits.memory_limit_mb)
                result.error = _error_at(node, kind, message)
            result.warnings.extend(_torch_warnings(caught))
    except RecursionError:
        result.error = ProgramError("The program is nested too deeply to run.", "limit")
    except Exception as exc:  # noqa: BLE001 - the server must never die on a program
        result.error = ProgramError(f"Internal error ({type(exc).__name__}): {exc}",
                                    "internal")
    finally:
        if interpreter is not None:
            interpreter.recorder.finish()
            if cleanup is not None:
                cleanup(interpreter, result)
        state.restore()
    result.seconds = time.perf_counter() - started
    return result


def run_in_process(source: str, inputs: Mapping[str, Any] | None = None,
                   options: RunOptions | None = None,
                   limits: Limits = DEFAULT_LIMITS) -> RunResult:
    """The whole run in this process. Never raises for anything a program does."""
    options = options or RunOptions()
    return guarded_run(source, inputs, options, limits,
                       lambda interpreter, _, result: _finish(interpreter, options, result),
                       _copy_out)


def _copy_out(interpreter: Interpreter, result: RunResult) -> None:
    """Names, grads, values and the graph, even after an error (what ran)."""
    if result.error is not None and result.error.kind == "memory":
        interpreter.env.clear()  # free the budget; nothing to copy out
    try:
        _collect(interpreter, result)
    except (RuntimeError, MemoryError):
        result.variables, result.grads = {}, {}
        result.error = result.error or ProgramError(explain.memory_limit_message(
            interpreter.limits.memory_limit_mb, progress.AFTER_RUN), "memory")


def _finish(interpreter: Interpreter, options: RunOptions, result: RunResult) -> None:
    """Pick the output and, unless the program did, run backward from it."""
    name, output = choose_output(interpreter, options)
    result.output_name = name
    result.output = output
    result.backward_called = bool(interpreter.backward_roots)
    result.grad_events = list(interpreter.grad_events)
    if result.backward_called or not options.auto_backward or output is None:
        return
    label = f"`{name}`" if name else "The output"
    if not output.requires_grad:
        because = interpreter.why_of(name) if name else explain.why(None)
        interpreter.warnings.append(
            f"{label} was not recorded by autograd, because {because}; "
            "there are no gradients to show.")
        return
    if output.numel() != 1:
        interpreter.warnings.append(
            f"{label} has {output.numel()} elements, so there is no single number to run "
            "backward() from: no gradients are shown. Reduce it first, e.g. with .sum() or "
            ".mean().")
        return
    interpreter.recorder.draw_call = None  # the app's own backward is the one drawn
    interpreter.recorder.before_backward(output)
    try:
        output.backward()
    except RuntimeError as exc:
        kind, message = explain.explain_backward_error(exc, name, None, output.numel())
        raise ProgramRefused(ProgramError(message, kind)) from None
    result.auto_backward = True


def choose_output(interpreter: Interpreter, options: RunOptions,
                  ) -> tuple[str | None, torch.Tensor | None]:
    """The output rule, shared by run_program and derivative_curve: the ``output``
    option, else what the program last called backward() on, else its last expression
    line or assignment."""
    if options.output:
        value = interpreter.env.get(options.output)
        if not isinstance(value, torch.Tensor):
            raise ProgramRefused(ProgramError(
                f"The output `{options.output}` is not a tensor variable of this program.",
                "refused"))
        return options.output, value
    if interpreter.backward_roots:
        return interpreter.backward_roots[-1]
    if interpreter.candidate is not None and isinstance(interpreter.candidate[1],
                                                        torch.Tensor):
        return interpreter.candidate[0], interpreter.candidate[1]
    return None, None


def _collect(interpreter: Interpreter, result: RunResult) -> None:
    """Copy out names, grads, values and the graph (even after an error, what ran)."""
    env = interpreter.env
    tensors = {n: v for n, v in env.items() if isinstance(v, torch.Tensor)}
    result.variables = {n: v.detach().clone() for n, v in tensors.items()}
    parameters = module_parameters(env)
    result.grads = {n: (None if v.grad is None else v.grad.detach().clone())
                    for n, v in {**tensors, **parameters}.items()
                    if v.is_leaf and v.requires_grad}
    result.retained = {n: v.grad.detach().clone() for n, v in tensors.items()
                       if not v.is_leaf and v.retains_grad and v.grad is not None}
    result.printed = "".join(interpreter.printed)
    result.echoes = interpreter.echoes
    result.line_runs = dict(interpreter.line_runs)
    result.training = interpreter.training
    if interpreter.recorder.stopped and interpreter.graph_step < len(interpreter.training):
        result.graph_step = interpreter.graph_step  # an earlier call than the last
    result.warnings = interpreter.warnings + result.warnings
    output = result.output
    try:
        result.graph = interpreter.recorder.build(
            roots=[*tensors.values()] + ([output] if output is not None else []),
            output=output, variables={**tensors, **parameters})
    except Exception as exc:  # noqa: BLE001 - a graph problem must not hide the numbers
        result.warnings.append(f"The graph could not be recorded ({exc}).")
    if output is not None:
        result.output = output.detach().clone()


def module_parameters(env: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The parameters of the modules the program's variables hold, by their path
    (``fc1.weight``), for the gradients table and the graph."""
    found: dict[str, torch.Tensor] = {}
    for name, value in env.items():
        if isinstance(value, ModuleValue):
            for path, parameter in value.module.named_parameters():
                found.setdefault(qualified_name(name, path, "." not in path), parameter)
    return found


def _torch_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    seen: list[str] = []
    for w in caught:
        text = str(w.message).strip().splitlines()[0]
        if "not a leaf Tensor is being accessed" in text:
            continue  # explained where the program read .grad
        message = f"torch warned: {text}"
        if message not in seen:
            seen.append(message)
    return seen


def _error_at(node: Any, kind: str, message: str) -> ProgramError:
    message = as_sentence(message)
    line = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    return ProgramError(message, kind, line, None if col is None else col + 1)
