"""Results of analysis kept beside the run or series they were computed from.

A long-lived front end (the MCP server) asks the same questions of the same runs again and
again; the catalog hands back the very same :class:`~runwise_core.model.Run` object while
its files are unchanged, and a new object once they change. Keying results by the identity
of that object therefore gives exact reuse and automatic invalidation: an entry lives
exactly as long as the object it was computed from (a weak reference drops it), so memory
stays bounded by the catalog's own bound on loaded runs.

The contract this relies on: runs and series are not mutated after a reader built them.
Results must not depend on the clock (a run's state is computed by the caller, never
stored here).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_entries: dict[int, tuple[weakref.ref, dict[Hashable, Any]]] = {}
_lock = threading.Lock()


def memoized(owner: object, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or the value it gave for ``key`` on this very ``owner`` object before."""
    with _lock:
        table = _table(owner)
        if key in table:
            return table[key]
    value = compute()  # outside the lock: two threads may compute once each, both exact
    with _lock:
        table.setdefault(key, value)
    return value


def attach(owner: object, key: Hashable, value: Any) -> None:
    """Keep ``value`` beside ``owner`` under ``key`` (replacing what was there), for as long as
    the very object lives: how the catalog tells analysis where a run's answers are stored."""
    with _lock:
        _table(owner)[key] = value


def attached(owner: object, key: Hashable) -> Any:
    """What :func:`attach` or :func:`memoized` keeps beside ``owner`` under ``key``, or None."""
    with _lock:
        entry = _entries.get(id(owner))
        if entry is None or entry[0]() is not owner:
            return None
        return entry[1].get(key)


def _table(owner: object) -> dict[Hashable, Any]:
    """The results kept for ``owner`` (created empty); the caller holds the lock."""
    oid = id(owner)
    entry = _entries.get(oid)
    if entry is None or entry[0]() is not owner:
        entry = (weakref.ref(owner, functools.partial(_drop, oid)), {})
        _entries[oid] = entry
    return entry[1]


def _drop(oid: int, _ref: object = None, entries: dict = _entries, lock: threading.Lock = _lock) -> None:
    # The table and lock are bound as defaults: a callback may run while the interpreter
    # shuts down, when this module's globals are already gone.
    with lock:
        entry = entries.get(oid)
        if entry is not None and entry[0]() is None:
            del entries[oid]


def entries() -> int:
    """How many objects have memoised results (for tests)."""
    with _lock:
        return len(_entries)
