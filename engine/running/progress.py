"""Where the running program is, readable by the server after it killed a stuck worker.

The interpreter stops a program that passes its time limit by itself, between operations,
and reports the line. One operation that runs long (a huge matrix product) or a crash
cannot be stopped that way: the server kills the worker, and the worker can no longer say
anything. So the interpreter writes the place of each operation it starts into a few
bytes of memory the server shares with the worker (a small file both map); after the kill
the server reads the last place written and names it in its message.

In the server's own process (``isolate=False``) the place goes into a plain buffer that
nobody reads.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass

_LAYOUT = struct.Struct("!III")  # stage, line, column
SIZE = _LAYOUT.size

# What the program was doing when the place was written.
CHECKING = 0  # nothing ran yet (the program was being read and checked)
RUNNING = 1  # the line and column of the operation running now
AFTER_RUN = 2  # past the last line: backward from the output, the graph, the results


@dataclass(frozen=True)
class Place:
    stage: int
    line: int = 0
    col: int = 0


class Progress:
    """Three numbers in a buffer: a bytearray, or a shared memory map."""

    def __init__(self, buffer: bytearray | mmap.mmap | None = None) -> None:
        self.buffer = buffer if buffer is not None else bytearray(SIZE)

    def mark(self, stage: int, line: int = 0, col: int = 0) -> None:
        _LAYOUT.pack_into(self.buffer, 0, stage, max(line, 0), max(col, 0))

    def read(self) -> Place:
        return Place(*_LAYOUT.unpack_from(self.buffer, 0))


CURRENT = Progress()  # what the interpreter writes to; a worker replaces it with a shared one


def share(path: str) -> None:
    """In a worker: write the place into the file at ``path``, which the server maps."""
    global CURRENT
    fd = os.open(path, os.O_RDWR)
    try:
        CURRENT = Progress(mmap.mmap(fd, SIZE))
    finally:
        os.close(fd)
    CURRENT.mark(CHECKING)


def create(path: str) -> None:
    """In the server: the file a worker will share (zeroed: nothing ran yet)."""
    with open(path, "wb") as f:
        f.write(bytes(SIZE))


def read_file(path: str) -> Place:
    """In the server, after the worker ended: the last place it wrote."""
    try:
        with open(path, "rb") as f:
            data = f.read(SIZE)
    except OSError:
        return Place(CHECKING)
    return Place(*_LAYOUT.unpack(data)) if len(data) == SIZE else Place(CHECKING)
