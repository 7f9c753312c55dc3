"""Results every session shares, computed once per server process.

A class opening one link asks for the same curve, formula and hand gradients a hundred
times; a learner moving a toggle asks again for what did not change. ``st.cache_data``
would serve them too, but it hashes every argument with its own hasher and unpickles a
fresh copy of the value on every hit (about half a millisecond a call, several calls a
rerun, all holding the interpreter lock every session shares). These caches take
hashable arguments (the page's frozen ``Setup``, strings, numbers) and hand out the one
stored value, so what they return is made read-only first: no caller can change what the
next session gets.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache, wraps
from threading import Lock
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])
_CACHES: list[Any] = []


def shared(maxsize: int) -> Callable[[F], F]:
    """An LRU cache of at most ``maxsize`` results for every session of this process."""
    def decorate(func: F) -> F:
        cached = lru_cache(maxsize=maxsize)(func)
        _CACHES.append(cached)

        @wraps(func)
        def call(*args: Any) -> Any:
            return cached(*args)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]
    return decorate


def frozen(value: Any) -> Any:
    """``value`` with every numpy array in it (in tuples, lists, dicts and dataclass
    fields) made read-only, so a shared result cannot be changed in place."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for item in value:
            frozen(item)
    elif isinstance(value, dict):
        for item in value.values():
            frozen(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            frozen(getattr(value, field.name))
    return value


class SharedStore:
    """A least-recently-used store of at most ``maxsize`` values for every session, for
    results the caller decides when to keep (``shared`` keeps every result it computes)."""

    def __init__(self, maxsize: int) -> None:
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._maxsize = maxsize
        self._lock = Lock()
        _CACHES.append(self)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._values:
                return None
            self._values.move_to_end(key)
            return self._values[key]

    def put(self, key: Hashable, value: Any, *, freeze: bool = True) -> None:
        """Keep ``value`` (its arrays made read-only first, unless ``freeze`` is off for
        a value the caller knows no code changes)."""
        value = frozen(value) if freeze else value
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self._maxsize:
                self._values.popitem(last=False)

    def cache_clear(self) -> None:
        with self._lock:
            self._values.clear()


def clear() -> None:
    """Forget every shared result (tests start from empty caches)."""
    for cached in _CACHES:
        cached.cache_clear()
