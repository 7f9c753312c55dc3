"""Worker processes that run programs where a runaway can be stopped for real.

Streamlit runs every session's script in a thread of one server process, and a thread
cannot be killed. So each run goes to a worker process (``engine.sandbox.worker``) with a memory
cap; the server waits for the answer with a deadline and, if it passes, kills the worker,
reports the timeout and starts a fresh worker in the background. Other users' runs go on
in the other workers. Results come back as plain data (:mod:`engine.sandbox.wire`).

Workers are started with ``subprocess`` (a fresh interpreter: no fork of a threaded server
holding torch) and reused for many runs; import torch costs about a second once.
"""

from __future__ import annotations

import atexit
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ProgramError, ProgramRefused
from engine.limits import DEFAULT_LIMITS, Limits
from engine.running import progress
from engine.running.curve import curve_grid
from engine.running.run import RunOptions, RunResult
from engine.sandbox import wire
from engine.sandbox.worker import HEADER, write_message
from engine.teaching import explain
from engine.teaching.formula import Formula

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GRACE_S = 1.0  # on top of the program's time limit: pickling, the pipe
START_TIMEOUT_S = 60.0


class WorkerDied(Exception):
    """The worker ended or missed its deadline; ``kind`` says which."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Worker:
    """One worker process and its pipes; used by one thread at a time."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.proc: subprocess.Popen[bytes] | None = None
        # where the program is (engine.running.progress), still readable after a kill
        fd, self.progress_path = tempfile.mkstemp(prefix="autograd-progress-")
        os.close(fd)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        progress.create(self.progress_path)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.sandbox.worker", str(self.memory_mb),
             self.progress_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=env,
            cwd=str(PROJECT_ROOT), bufsize=0)
        ready = self._receive(START_TIMEOUT_S)
        if not ready.get("ready"):
            raise WorkerDied("crashed")

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
        self.proc = None

    def last_place(self) -> progress.Place:
        """Where the last program was when the worker ended (see engine.running.progress)."""
        return progress.read_file(self.progress_path)

    def remove_files(self) -> None:
        self.stop()
        try:
            os.unlink(self.progress_path)
        except OSError:
            pass

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        if not self.alive:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            write_message(self.proc.stdin, wire.dumps(message))
        except (BrokenPipeError, OSError):
            self.stop()
            raise WorkerDied("crashed") from None
        return self._receive(timeout)

    def _receive(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        header = self._read_exactly(HEADER.size, deadline)
        (size,) = HEADER.unpack(header)
        return wire.loads(self._read_exactly(size, deadline))

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        chunks, have = [], 0
        fd = self.proc.stdout.fileno()
        while have < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise WorkerDied("timeout")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, min(size - have, 1 << 20))
            if not chunk:
                self.stop()
                raise WorkerDied("crashed")
            chunks.append(chunk)
            have += len(chunk)
        return b"".join(chunks)


class WorkerPool:
    """A few workers shared by all sessions; a run waits for a free one."""

    def __init__(self, size: int = 2, memory_mb: int = DEFAULT_LIMITS.memory_limit_mb,
                 wait_s: float = 30.0) -> None:
        self.memory_mb = memory_mb
        self.wait_s = wait_s
        self.idle: queue.Queue[Worker] = queue.Queue()
        self.workers = [Worker(memory_mb) for _ in range(size)]
        for worker in self.workers:
            self.idle.put(worker)

    def warm_up(self) -> None:
        """Start every worker now (in the background), so the first learner does not wait.
        Each is taken out of the idle queue while it starts, so no run races the start."""
        for _ in self.workers:
            threading.Thread(target=self._start_one, daemon=True).start()

    def _start_one(self) -> None:
        try:
            worker = self.idle.get(timeout=self.wait_s)
        except queue.Empty:
            return
        try:
            self._restart_quietly(worker, False)
        finally:
            self.idle.put(worker)

    def close(self) -> None:
        for worker in self.workers:
            worker.remove_files()

    def _restart_quietly(self, worker: Worker, restart: bool) -> None:
        try:
            if restart or not worker.alive:
                worker.stop()
                worker.start()
        except Exception:  # noqa: BLE001 - the next request starts it again
            worker.stop()

    def _call(self, message: dict[str, Any], limits: Limits) -> dict[str, Any]:
        try:
            worker = self.idle.get(timeout=self.wait_s)
        except queue.Empty:
            return {"error": asdict(ProgramError(
                "The server is busy running other programs; try again in a moment.",
                "timeout"))}
        try:
            return worker.request(message, limits.time_limit_s + GRACE_S)
        except WorkerDied as died:
            place = worker.last_place()  # before a new worker starts over the file
            threading.Thread(target=self._restart_then_release, args=(worker,),
                             daemon=True).start()
            worker = None  # type: ignore[assignment]
            return {"error": asdict(_killed_error(died.kind, place, limits, self.memory_mb))}
        finally:
            if worker is not None:
                self.idle.put(worker)

    def _restart_then_release(self, worker: Worker) -> None:
        self._restart_quietly(worker, True)
        self.idle.put(worker)

    def run(self, source: str, inputs: dict[str, Any], options: RunOptions,
            limits: Limits) -> RunResult:
        reply = self._call({"op": "run", "source": source, "inputs": _plain_inputs(inputs),
                            "options": _plain_options(options), "limits": asdict(limits)},
                           limits)
        if "graph" not in reply:
            return RunResult(error=wire.decode_error(reply["error"]))
        return wire.decode_result(reply)

    def curve(self, source: str, inputs: dict[str, Any], wrt: str, lo: float, hi: float,
              n: int, options: RunOptions, limits: Limits,
              order: int = 1) -> tuple[np.ndarray, ...]:
        """(xs, ys, dys), or with ``order=2`` also d2ys, computed in a worker
        (engine.running.curve.curve_values); the grid is recomputed here, not sent."""
        reply = self._call({"op": "curve", "source": source, "inputs": _plain_inputs(inputs),
                            "wrt": wrt, "lo": float(lo), "hi": float(hi), "n": int(n),
                            "order": int(order), "options": _plain_options(options),
                            "limits": asdict(limits)}, limits)
        if reply.get("error") is not None:
            raise ProgramRefused(wire.decode_error(reply["error"]))  # type: ignore[arg-type]
        names = ("ys", "dys", "d2ys")[:order + 1]
        if any(name not in reply for name in names):
            raise ProgramRefused(ProgramError("The worker sent a broken curve.", "internal"))
        values = [wire.decode_array(reply[name]) for name in names]
        if any(v.shape != (n,) for v in values):
            raise ProgramRefused(ProgramError("The worker sent a broken curve.", "internal"))
        return (curve_grid(lo, hi, n), *(v.astype(np.float64) for v in values))

    def gradient_graph(self, source: str, inputs: dict[str, Any], wrt: str,
                       options: RunOptions, limits: Limits) -> RunResult:
        """The gradient's own graph (engine.running.higher.gradient_graph_in_process), in a
        worker: a RunResult, decoded from plain data like :meth:`run`'s."""
        reply = self._call({"op": "gradient_graph", "source": source,
                            "inputs": _plain_inputs(inputs), "wrt": wrt,
                            "options": _plain_options(options), "limits": asdict(limits)},
                           limits)
        if "graph" not in reply:
            return RunResult(error=wire.decode_error(reply["error"]))
        return wire.decode_result(reply)

    def formula(self, source: str, inputs: dict[str, Any], wrt: str, lo: float | None,
                hi: float | None, n: int, output: str | None, limits: Limits) -> Formula:
        """The derivative by hand (engine.teaching.analytic), computed in a worker."""
        reply = self._call({"op": "formula", "source": source,
                            "inputs": _plain_inputs(inputs), "wrt": wrt,
                            "lo": None if lo is None else float(lo),
                            "hi": None if hi is None else float(hi), "n": int(n),
                            "output": output, "limits": asdict(limits)}, limits)
        if reply.get("error") is not None:
            raise ProgramRefused(wire.decode_error(reply["error"]))  # type: ignore[arg-type]
        return wire.decode_formula(reply["formula"])

    def gradients(self, source: str, inputs: dict[str, Any], names: list[str],
                  output: str | None, limits: Limits) -> dict[str, float | None]:
        """Gradients by hand (engine.teaching.analytic.gradients_in_process), in a worker. The
        reply is plain data: each value is checked to be a float or None."""
        reply = self._call({"op": "gradients", "source": source,
                            "inputs": _plain_inputs(inputs), "names": list(names),
                            "output": output, "limits": asdict(limits)}, limits)
        if reply.get("error") is not None:
            raise ProgramRefused(wire.decode_error(reply["error"]))  # type: ignore[arg-type]
        values = reply["gradients"]
        return {name: None if values.get(name) is None else float(values[name])
                for name in names}


def _plain_options(options: RunOptions) -> dict[str, Any]:
    d = asdict(options)
    d["detach"] = sorted(options.detach)
    d["requires_grad"] = dict(options.requires_grad)
    if not isinstance(options.retain_grad, bool):
        d["retain_grad"] = sorted(options.retain_grad)
    return d


def _plain_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Tensors become nested lists for the pipe (the worker makes fresh leaves anyway)."""
    import torch

    return {k: (v.detach().tolist() if isinstance(v, torch.Tensor) else v)
            for k, v in inputs.items()}


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def _killed_error(kind: str, place: progress.Place, limits: Limits,
                  memory_mb: int) -> ProgramError:
    """What to say when the worker had to be killed (``timeout``) or died (a crash, most
    likely the memory cap): which limit, the line that was running, what to change."""
    line = place.line if place.stage == progress.RUNNING and place.line else None
    col = (place.col or None) if line else None
    if kind == "timeout":
        return ProgramError(explain.time_limit_message(limits.time_limit_s, place.stage, line),
                            "timeout", line, col)
    return ProgramError(explain.memory_limit_message(memory_mb, place.stage, line), "memory",
                        line, col)


def shared_pool() -> WorkerPool:
    """The process's pool (``AUTOGRAD_WORKERS`` workers, default 2), made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(size=int(os.environ.get("AUTOGRAD_WORKERS", "2")))
            atexit.register(_pool.close)
        return _pool
