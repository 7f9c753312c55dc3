"""A real `streamlit run app.py` (or another script) on a free local port, health-polled,
stopped after. It runs from the repository root, so .streamlit/config.toml applies.

What the server writes (the app's own log of an error a student saw, with its traceback)
is dropped unless ``AE_SERVER_LOG_DIR`` names a folder: then each server writes
``streamlit-<port>.log`` there. Set it when a test or the benchmark reports a session's
"Something went wrong" and you want to know why."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ServerDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(timeout_s: float = 60.0, script: str = "app.py") -> Iterator[str]:
    """The app's base URL while the server runs; the server is stopped on exit.
    ``script``: the file to run, relative to the repository root."""
    with serve_process(timeout_s, script) as (url, _):
        yield url


@contextmanager
def serve_process(timeout_s: float = 60.0,
                  script: str = "app.py") -> Iterator[tuple[str, subprocess.Popen]]:
    """The base URL and the server's process (bench/ reads its memory) while it runs."""
    port = free_port()
    log_dir = os.environ.get("AE_SERVER_LOG_DIR")
    log = open(Path(log_dir) / f"streamlit-{port}.log", "w") if log_dir else None
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if process.poll() is not None:
                raise ServerDidNotStart(f"streamlit exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise ServerDidNotStart(f"the server was not healthy after {timeout_s:g} s")
            time.sleep(0.3)  # polling a process that is starting, not waiting on the app
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not None:
            log.close()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False
