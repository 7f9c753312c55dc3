"""Results as plain data for the pipe between the server and its worker processes.

The server must not trust bytes a worker sends: a worker runs hostile programs. So results
travel as pickles of plain containers only (dict, list, tuple, str, bytes, numbers, None);
tensors and arrays become dicts of dtype, shape and raw bytes, and the server's unpickler
refuses every class (``find_class`` always fails), so no pickle can construct an object.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from engine.errors import ProgramError
from engine.running.run import RunResult
from engine.teaching.formula import Formula

_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.int16,
    torch.int8, torch.uint8, torch.bool)}


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: plain data only")


def dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    return _PlainDataUnpickler(io.BytesIO(data)).load()


def encode_tensor(t: torch.Tensor | None) -> dict[str, Any] | None:
    if t is None:
        return None
    t = t.detach().contiguous().cpu()
    return {"tensor": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
            "data": t.numpy().tobytes() if t.numel() else b"",
            "requires_grad": bool(t.requires_grad)}


def decode_tensor(d: dict[str, Any] | None) -> torch.Tensor | None:
    if d is None:
        return None
    dtype = _DTYPES[d["tensor"]]
    if not d["data"]:
        return torch.empty(d["shape"], dtype=dtype)
    flat = torch.frombuffer(bytearray(d["data"]), dtype=dtype)
    return flat.reshape(d["shape"]).clone()


def encode_array(a: np.ndarray) -> dict[str, Any]:
    return {"array": str(a.dtype), "shape": list(a.shape), "data": a.tobytes()}


def decode_array(d: dict[str, Any]) -> np.ndarray:
    if d["array"] not in ("float64", "float32"):
        raise ValueError(f"unexpected array dtype {d['array']}")
    return np.frombuffer(d["data"], dtype=d["array"]).reshape(d["shape"]).copy()


def encode_result(r: RunResult) -> dict[str, Any]:
    return {
        "error": None if r.error is None else asdict(r.error),
        "output": encode_tensor(r.output),
        "output_name": r.output_name,
        "grads": {k: encode_tensor(v) for k, v in r.grads.items()},
        "retained": {k: encode_tensor(v) for k, v in r.retained.items()},
        "variables": {k: encode_tensor(v) for k, v in r.variables.items()},
        "warnings": list(r.warnings),
        "printed": r.printed,
        "echoes": r.echoes,
        "graph": r.graph,
        "backward_called": r.backward_called,
        "grad_events": [dict(e) for e in r.grad_events],
        "auto_backward": r.auto_backward,
        "seconds": r.seconds,
        "line_runs": {int(k): int(v) for k, v in r.line_runs.items()},
        "training": r.training,
        "graph_step": r.graph_step,
    }


def decode_error(d: dict[str, Any] | None) -> ProgramError | None:
    if d is None:
        return None
    more = tuple(decode_error(m) for m in d.get("more") or ())
    return ProgramError(str(d["message"]), str(d["kind"]), d.get("line"), d.get("col"),
                        more)  # type: ignore[arg-type]


def decode_result(d: dict[str, Any]) -> RunResult:
    return RunResult(
        error=decode_error(d["error"]),
        output=decode_tensor(d["output"]),
        output_name=d["output_name"],
        grads={k: decode_tensor(v) for k, v in d["grads"].items()},
        retained={k: decode_tensor(v) for k, v in d["retained"].items()},
        variables={k: decode_tensor(v) for k, v in d["variables"].items()},  # type: ignore[misc]
        warnings=list(d["warnings"]),
        printed=d["printed"],
        echoes=d["echoes"],
        graph=d["graph"],
        backward_called=d["backward_called"],
        grad_events=[_grad_event(e) for e in d.get("grad_events", [])],
        auto_backward=d["auto_backward"],
        seconds=d["seconds"],
        line_runs={int(k): int(v) for k, v in (d.get("line_runs") or {}).items()},
        training=[_training_step(step) for step in d.get("training") or []],
        graph_step=None if d.get("graph_step") is None else int(d["graph_step"]),
    )


def _grad_event(d: dict[str, Any]) -> dict[str, Any]:
    """One of Interpreter.grad_events, with its field types checked (a worker's bytes
    are not trusted)."""
    return {"kind": str(d["kind"]), "code": str(d["code"]),
            "of": None if d["of"] is None else str(d["of"]), "scaled": bool(d["scaled"])}


def _training_step(d: dict[str, Any]) -> dict[str, Any]:
    """One step of RunResult.training (engine.running.training.step_record), rebuilt
    with its field types checked."""
    def numbers(part: dict[str, Any] | None) -> dict[str, Any] | None:
        if part is None:
            return None
        checked: dict[str, Any] = {"shape": [int(n) for n in part["shape"]]}
        for key in ("value", "norm"):
            if key in part:
                checked[key] = float(part[key])
        if "first" in part:
            checked["first"] = [float(v) for v in part["first"]]
        return checked

    return {"line": None if d["line"] is None else int(d["line"]),
            "root": None if d["root"] is None else str(d["root"]),
            "loss": None if d["loss"] is None else float(d["loss"]),
            "numbers": {str(k): float(v) for k, v in d["numbers"].items()},
            "leaves": {str(k): {"value": numbers(v["value"]), "grad": numbers(v["grad"])}
                       for k, v in d["leaves"].items()}}


def encode_formula(f: Formula) -> dict[str, Any]:
    """A Formula as plain data: its text and numbers, arrays as raw bytes."""
    return {"wrt": f.wrt, "output_name": f.output_name, "f_latex": f.f_latex,
            "df_latex": f.df_latex, "too_long_to_show": f.too_long_to_show,
            "f_value": f.f_value, "df_value": f.df_value, "df_values": list(f.df_values),
            "values": dict(f.values), "notes": list(f.notes), "xs": encode_array(f.xs),
            "fs": encode_array(f.fs), "dfs": encode_array(f.dfs)}


def decode_formula(d: dict[str, Any]) -> Formula:
    return Formula(
        wrt=str(d["wrt"]), output_name=None if d["output_name"] is None
        else str(d["output_name"]), f_latex=str(d["f_latex"]), df_latex=str(d["df_latex"]),
        too_long_to_show=bool(d["too_long_to_show"]), f_value=float(d["f_value"]),
        df_value=float(d["df_value"]), df_values=tuple(float(v) for v in d["df_values"]),
        values={str(k): float(v) for k, v in d["values"].items()},
        notes=tuple(str(n) for n in d["notes"]), xs=decode_array(d["xs"]),
        fs=decode_array(d["fs"]), dfs=decode_array(d["dfs"]))
