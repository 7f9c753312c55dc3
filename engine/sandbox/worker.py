"""A worker process: runs programs for the server, one at a time, inside hard limits.

Started by :mod:`engine.sandbox.pool` as ``python -m engine.sandbox.worker MEMORY_MB``.
It imports torch, pins torch to one thread (a classroom shares the cores), then caps its
own address space
with ``RLIMIT_AS`` so an allocation beyond the budget fails inside torch (and is reported)
instead of growing until the machine's OOM killer ends every session. Requests and results
are length-prefixed plain-data pickles on the original stdin/stdout; anything else written
to stdout goes to stderr, so a program can never corrupt the protocol.
"""

from __future__ import annotations

import os
import resource
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct("!Q")
BUDGET_MB = 768  # this worker's memory cap (its first argument), set by main()


def read_message(stream: BinaryIO) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    return data if len(data) == size else None


def write_message(stream: BinaryIO, data: bytes) -> None:
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def limit_memory(budget_mb: int) -> None:
    """Cap the address space at what is mapped now plus the budget."""
    limit = _address_space_bytes() + budget_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def handle(request: dict[str, Any]) -> dict[str, Any]:
    from dataclasses import asdict

    from engine.errors import ProgramRefused
    from engine.limits import Limits
    from engine.running.curve import curve_values
    from engine.running.run import RunOptions, run_in_process
    from engine.sandbox import wire

    if request["op"] == "ping":
        return {"pong": True}
    from engine.running import progress

    progress.CURRENT.mark(progress.CHECKING)  # a new program: nothing of it ran yet
    # the memory budget this worker really has, for the messages that name it
    limits = Limits(**{**request["limits"], "memory_limit_mb": BUDGET_MB})
    if request["op"] == "formula":
        from engine.teaching.analytic import formula_in_process

        try:
            formula = formula_in_process(request["source"], request["inputs"],
                                         request["wrt"], request["lo"], request["hi"],
                                         request["n"], request["output"], limits)
        except ProgramRefused as refusal:
            return {"error": asdict(refusal.error)}
        return {"error": None, "formula": wire.encode_formula(formula)}
    if request["op"] == "gradients":
        from engine.teaching.analytic import gradients_in_process

        try:
            values = gradients_in_process(request["source"], request["inputs"],
                                          request["names"], request["output"], limits)
        except ProgramRefused as refusal:
            return {"error": asdict(refusal.error)}
        return {"error": None, "gradients": values}
    options = RunOptions.build(**request["options"])
    if request["op"] == "run":
        return wire.encode_result(run_in_process(request["source"], request["inputs"],
                                                 options, limits))
    if request["op"] == "curve":
        try:
            values = curve_values(request["source"], request["inputs"], request["wrt"],
                                  request["lo"], request["hi"], request["n"], options,
                                  limits, request.get("order", 1))
        except ProgramRefused as refusal:
            return {"error": asdict(refusal.error)}
        names = ("ys", "dys", "d2ys")[:len(values)]
        return {"error": None, **{k: wire.encode_array(v) for k, v in zip(names, values)}}
    if request["op"] == "gradient_graph":
        from engine.running.higher import gradient_graph_in_process

        return wire.encode_result(gradient_graph_in_process(
            request["source"], request["inputs"], request["wrt"], options, limits))
    raise ValueError(f"unknown request {request['op']!r}")


def warm_up() -> None:
    from engine.limits import DEFAULT_LIMITS
    from engine.running.curve import curve_in_process
    from engine.running.run import RunOptions, run_in_process

    run_in_process("y = torch.sin(x ** 2).mean() + torch.cat([x[None], x[None]]).sum()",
                   {"x": 1.0})
    curve_in_process("y = torch.sin(x ** 2)", {"x": 1.0}, "x", -1.0, 1.0, 11, RunOptions(),
                     DEFAULT_LIMITS)
    from engine.teaching.analytic import formula_in_process  # sympy: about a second to import

    formula_in_process("y = torch.sigmoid(torch.sin(x ** 2))", {"x": 1.0}, "x", -1.0, 1.0,
                       11, None, DEFAULT_LIMITS)


def main() -> None:
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray output of any library goes to stderr, never into the protocol
    sys.stdout = sys.stderr

    import torch

    from engine.sandbox import wire

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    import engine.running.curve
    import engine.running.run  # noqa: F401
    from engine.running import progress
    from engine.teaching import explain

    warm_up()  # first use of vmap and autograd costs ~1 s: pay it before the first learner
    if len(sys.argv) > 2:
        progress.share(sys.argv[2])  # where the program is, for the server to read
    global BUDGET_MB
    BUDGET_MB = int(sys.argv[1]) if len(sys.argv) > 1 else BUDGET_MB
    limit_memory(BUDGET_MB)
    write_message(replies, wire.dumps({"ready": True}))
    while True:
        data = read_message(requests)
        if data is None:
            return
        try:
            reply = handle(wire.loads(data))
        except MemoryError:
            place = progress.CURRENT.read()
            reply = {"error": {"message": explain.memory_limit_message(
                BUDGET_MB, place.stage, place.line), "kind": "memory",
                "line": place.line or None, "col": place.col or None}}
        except Exception as exc:  # noqa: BLE001 - report, and keep serving
            reply = {"error": {"message": f"Internal error: {type(exc).__name__}: {exc}",
                               "kind": "internal", "line": None, "col": None}}
        write_message(replies, wire.dumps(reply))


if __name__ == "__main__":
    main()
