"""Token budgets: every output fits ``--max-tokens`` and says what it left out.

Trimming cuts table and code rows from the end, the same fraction of every trimmable block,
and appends one line naming what was left out and how to get it. The count is
:func:`runwise_core.tokens.estimate`, an over-estimate of the real tokenizer, so a trimmed
output never exceeds the budget when the real ruler counts it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..tokens import estimate
from .doc import Doc, Heading, Line

SEARCH_STEPS = 14


def _trimmed(doc: Doc, fraction: float) -> Doc:
    blocks = list(doc.blocks)
    parts: list[str] = []
    hints: list[str] = []
    for i in doc.trimmable():
        b = blocks[i]
        n = len(b.rows)
        k = int(math.floor(fraction * n))
        if k < n:
            blocks[i] = b.head(k) if k else None  # an empty table says nothing: drop it whole
            parts.append(f"{n - k} of {n} {b.what}")
            if b.hint and b.hint not in hints:
                hints.append(b.hint)
    if parts:
        hint = "; ".join(hints + ["or raise --max-tokens"])
        blocks.append(Line(f"… left out {', '.join(parts)} (--max-tokens): {hint}"))
    return Doc(tuple(b for b in blocks if b is not None))


def fit_doc(doc: Doc, max_tokens: int | None, write: Callable[[Doc], str]) -> str:
    """``write(doc)`` if it fits ``max_tokens`` (None: no limit), else the largest trimmed
    form that does, else the heading alone, else as many characters as fit."""
    text = write(doc)
    if max_tokens is None or estimate(text) <= max_tokens:
        return text
    lo, hi = 0.0, 1.0
    best: str | None = None
    if doc.trimmable():
        for _ in range(SEARCH_STEPS):
            mid = (lo + hi) / 2
            candidate = write(_trimmed(doc, mid))
            if estimate(candidate) <= max_tokens:
                best, lo = candidate, mid
            else:
                hi = mid
        if best is None:
            candidate = write(_trimmed(doc, 0.0))
            if estimate(candidate) <= max_tokens:
                best = candidate
    if best is not None:
        return best
    head = [b for b in doc.blocks if isinstance(b, Heading)][:1]
    minimal = write(Doc(tuple(head) + (Line("… output left out (--max-tokens): raise --max-tokens"),)))
    if estimate(minimal) <= max_tokens:
        return minimal
    return cut_chars(minimal, max_tokens)


def cut_chars(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` whose estimate fits (the last resort for tiny budgets)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate(text[:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def dumps(data: Any) -> str:
    """Compact one-line JSON (keys in insertion order, non-ASCII kept)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n"


def fit_json(data: dict[str, Any], max_tokens: int | None, trim: Sequence[str], hint: str = "") -> str:
    """``data`` as JSON within ``max_tokens``: the lists/dicts named in ``trim`` (top-level
    keys) are cut to the same fraction, and ``"truncated": {"left_out": {key: n}, "hint"}``
    says what went. Without a fit, a ``{"truncated": ...}`` object alone."""
    text = dumps(data)
    if max_tokens is None or estimate(text) <= max_tokens:
        return text

    def cut(fraction: float) -> dict[str, Any]:
        out = dict(data)
        left: dict[str, int] = {}
        for key in trim:
            value = data.get(key)
            if isinstance(value, list):
                k = int(math.floor(fraction * len(value)))
                if k < len(value):
                    out[key] = value[:k]
                    left[key] = len(value) - k
            elif isinstance(value, dict):
                items = list(value.items())
                k = int(math.floor(fraction * len(items)))
                if k < len(items):
                    out[key] = dict(items[:k])
                    left[key] = len(items) - k
        out["truncated"] = {"left_out": left, "hint": hint or "raise --max-tokens"}
        return out

    lo, hi = 0.0, 1.0
    best: str | None = None
    for _ in range(SEARCH_STEPS):
        mid = (lo + hi) / 2
        candidate = dumps(cut(mid))
        if estimate(candidate) <= max_tokens:
            best, lo = candidate, mid
        else:
            hi = mid
    if best is None:
        candidate = dumps(cut(0.0))
        best = candidate if estimate(candidate) <= max_tokens else None
    if best is None:
        minimal = dumps({"truncated": {"hint": "raise --max-tokens"}})
        best = minimal if estimate(minimal) <= max_tokens else cut_chars(minimal, max_tokens)
    return best
