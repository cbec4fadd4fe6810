"""Analysis answers kept across processes, for the runs the catalog loaded.

:mod:`.memo` keeps a result for the life of one run object. Here the catalog attaches a
*slot* of the on-disk fact store (:mod:`runwise_core.fact_store`) to a run and to each of
its series, and :func:`stored` answers a question from that slot when it holds the answer
for this version of the data, else computes it and stores it. So a new process asking what
an earlier one asked of unchanged files reads a few hundred bytes instead of recomputing.
Objects without a slot (runs built by hand or read from W&B's server, the slice of a step
range) are simply computed.

Only facts that follow from the data and from the arguments written into the question may
go through here, never anything that depends on the clock; an answer that cannot be
decoded is computed afresh (and replaced).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ..model import Run
from . import memo

T = TypeVar("T")

#: The memo key under which an object's (slot, question prefix) is kept.
_SLOT: Hashable = ("stored-slot",)


class Slot(Protocol):
    """Where one run's answers are kept (:class:`runwise_core.fact_store.Slot`)."""

    def get(self, question: str) -> Any:
        """The stored JSON answer to ``question``, or None."""
        ...

    def put(self, question: str, answer: Any) -> None:
        """Store a JSON answer; never raises."""
        ...


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How one kind of answer becomes JSON and back, exactly (``decode(encode(x)) == x``,
    types included). ``encode`` never returns None; ``decode`` raises ``ValueError``,
    ``TypeError``, ``KeyError`` or ``IndexError`` on anything it was not made from."""

    encode: Callable[[T], Any]
    decode: Callable[[Any], T]


def attach(run: Run, slot: Slot) -> None:
    """Answer questions about ``run`` and its series from ``slot`` (for as long as the run
    object lives; the catalog makes a new object when the files change)."""
    memo.attach(run, _SLOT, (slot, ("run",)))
    for key, series in run.metrics.items():
        memo.attach(series, _SLOT, (slot, ("series", key)))


def stored(owner: object, question: tuple[Any, ...], compute: Callable[[], T], codec: Codec[T]) -> T:
    """The answer to ``question`` about ``owner`` (a run or one of its series): read from the
    slot attached to ``owner`` if it holds one, else ``compute()`` (then stored).

    ``question`` (JSON-able: str, int, None, tuples) must name everything the answer depends
    on besides the data and the code, e.g. the keys and the settings.
    """
    found = memo.attached(owner, _SLOT)
    if found is None:
        return compute()
    slot, prefix = found
    name = json.dumps([*prefix, *question], separators=(",", ":"))
    raw = slot.get(name)
    if raw is not None:
        try:
            return codec.decode(raw)
        except (ValueError, TypeError, KeyError, IndexError):
            pass  # damaged under a valid checksum, or written by other code: computed afresh
    value = compute()
    slot.put(name, codec.encode(value))
    return value
