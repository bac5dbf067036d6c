"""A thread-safe least-recently-used cache bounded by entry count and by bytes, for large shared values.

The values are computed once per key even when several threads ask at once (the others wait for the first),
and a computation that raises caches nothing. A value larger than the byte bound is returned but not kept.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np

Value = TypeVar("Value")


def size_of(value: object) -> int:
    """Bytes held by ``value``: its numpy arrays and torch tensors (also inside dataclasses, tuples, lists and
    dicts), a PIL image's pixels, or ``sys.getsizeof`` for anything else."""
    return _size_of(value, set())


def _size_of(value: object, seen: set[int]) -> int:
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if hasattr(value, "untyped_storage") and hasattr(value, "element_size"):  # a torch tensor
        return int(value.numel() * value.element_size())
    if hasattr(value, "state_dict") and hasattr(value, "parameters"):  # a torch module
        return sum(_size_of(tensor, seen) for tensor in value.state_dict(keep_vars=True).values())
    if hasattr(value, "getbands") and hasattr(value, "size"):  # a PIL image
        width, height = value.size
        return width * height * max(1, len(value.getbands()))
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(_size_of(item, seen) for item in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(_size_of(item, seen) for item in value)
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return sys.getsizeof(value) + sum(_size_of(item, seen) for item in vars(value).values())
    if hasattr(value, "__slots__"):
        return sys.getsizeof(value) + sum(_size_of(getattr(value, name), seen) for name in value.__slots__ if hasattr(value, name))
    return sys.getsizeof(value)


class BoundedCache(Generic[Value]):
    """At most ``max_entries`` values and ``max_bytes`` bytes (as ``sizer`` measures them), least recently used
    dropped first."""

    def __init__(self, max_entries: int, max_bytes: int, sizer: Callable[[object], int] = size_of) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("a bounded cache needs at least one entry and one byte")
        self.max_entries, self.max_bytes, self._sizer = max_entries, max_bytes, sizer
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """The value of ``key``, computed by ``compute()`` and kept when it is not there."""
        found, value = self._lookup(key)
        if found:
            return value
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        try:
            with key_lock:  # one computation per key; the others wait for it, then read it
                found, value = self._lookup(key)
                if found:
                    return value
                value = compute()
                self.put(key, value)
                return value
        finally:
            with self._lock:
                if not key_lock.locked():
                    self._computing.pop(key, None)

    def put(self, key: Hashable, value: Value) -> None:
        size = self._sizer(value)
        with self._lock:
            self._drop(key)
            if size > self.max_bytes:
                return
            self._entries[key] = (value, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _lookup(self, key: Hashable) -> tuple[bool, Value | None]:
        with self._lock:
            if key not in self._entries:
                return False, None
            self._entries.move_to_end(key)
            return True, self._entries[key][0]

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]
