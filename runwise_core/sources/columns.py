"""Column accumulation shared by the readers: points in, numpy series out.

Readers append one point at a time while streaming a file; ``array.array`` keeps that at
16 bytes a point with no per-point Python objects, and ``build`` turns each column into a
:class:`~runwise_core.model.Series` once, at the end.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..model import Series


class ColumnBuilder:
    """Per-key (step, value) columns, in arrival order.

    A builder may be seeded with columns already built (from the cache): new points are
    appended after them, and :meth:`build` then gives what one builder fed every point in
    order would have given (a stable sort of sorted old points plus new points is the
    stable sort of all points).
    """

    __slots__ = ("_steps", "_values", "_base")

    def __init__(self) -> None:
        self._steps: dict[str, array] = {}
        self._values: dict[str, array] = {}
        self._base: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(self, key: str, step: int, value: float) -> None:
        steps = self._steps.get(key)
        if steps is None:
            steps = self._steps[key] = array("q")
            self._values[key] = array("d")
        steps.append(step)
        self._values[key].append(value)

    def extend(self, key: str, steps: np.ndarray, values: np.ndarray) -> None:
        """Append many points at once (int64 steps, float64 values, equal lengths)."""
        if key not in self._steps:
            self._steps[key] = array("q")
            self._values[key] = array("d")
        self._steps[key].frombytes(raw_bytes(steps, np.int64))
        self._values[key].frombytes(raw_bytes(values, np.float64))

    def append(self, other: "ColumnBuilder") -> None:
        """Append every point of ``other`` after this builder's, key by key (keys new here
        in ``other``'s order): as if this builder had been fed ``other``'s points too.
        ``other`` must not be seeded (its seeded columns are not points in arrival order)."""
        if other._base:
            raise ValueError("cannot append a seeded ColumnBuilder")
        for key, steps in other._steps.items():
            if key not in self._steps:
                self._steps[key] = array("q")
                self._values[key] = array("d")
            self._steps[key].extend(steps)
            self._values[key].extend(other._values[key])

    def seed(self, key: str, steps: np.ndarray, values: np.ndarray) -> None:
        """Start ``key`` with a column :meth:`build` made earlier (sorted by step)."""
        self._steps[key] = array("q")
        self._values[key] = array("d")
        self._base[key] = (steps, values)

    def __contains__(self, key: str) -> bool:
        return key in self._steps

    def keys(self) -> list[str]:
        return list(self._steps)

    def build(self) -> dict[str, Series]:
        """One series per key, sorted by step (stable, so equal steps keep arrival order)."""
        out: dict[str, Series] = {}
        for key, steps in self._steps.items():
            new_s = np.frombuffer(steps, dtype=np.int64)
            new_v = np.frombuffer(self._values[key], dtype=np.float64)
            base = self._base.get(key)
            if base is None:
                out[key] = Series.from_lists(new_s.copy(), new_v.copy())
            elif not new_s.size:
                out[key] = Series(base[0], base[1])
            else:
                out[key] = Series.from_lists(np.concatenate((base[0], new_s)), np.concatenate((base[1], new_v)))
        return out


def columns_to_cache(columns: Mapping[str, Series], group: str, meta: dict[str, Any],
                     arrays: dict[str, np.ndarray]) -> None:
    """Built columns as cache arrays ``<group><i>s``/``<group><i>v`` and their keys, in
    order, as ``meta["<group>_keys"]`` (for :mod:`..cache`; undone by :func:`seed_from_cache`)."""
    meta[f"{group}_keys"] = list(columns)
    for i, series in enumerate(columns.values()):
        arrays[f"{group}{i}s"], arrays[f"{group}{i}v"] = series.steps, series.values


def seed_from_cache(builder: ColumnBuilder, group: str, meta: Mapping[str, Any],
                    arrays: Mapping[str, np.ndarray]) -> None:
    """Seed ``builder`` with the columns :func:`columns_to_cache` stored, to read on from."""
    for i, key in enumerate(meta[f"{group}_keys"]):
        builder.seed(key, arrays[f"{group}{i}s"], arrays[f"{group}{i}v"])


def stamps_to_cache(steps: array, stamps: array, arrays: dict[str, np.ndarray]) -> None:
    """Row times kept as ``array("q")``/``array("d")`` as cache arrays (views, no copy)."""
    arrays["stamp_steps"] = np.frombuffer(steps, dtype=np.int64)
    arrays["stamps"] = np.frombuffer(stamps, dtype=np.float64)


def stamps_from_cache(arrays: Mapping[str, np.ndarray], steps: array, stamps: array) -> None:
    """Append the row times :func:`stamps_to_cache` stored."""
    steps.frombytes(arrays["stamp_steps"].tobytes())
    stamps.frombytes(arrays["stamps"].tobytes())


def raw_bytes(values: np.ndarray, dtype: type[np.generic]) -> memoryview:
    """The bytes of ``values`` as ``dtype``, for ``array.frombytes``: a view, not the copy
    ``tobytes`` makes (a strided or other-typed array is copied once, as it must be)."""
    return memoryview(np.ascontiguousarray(values, dtype=dtype)).cast("B")


def flatten(mapping: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dicts as one level with dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        full = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value and "_type" not in value:
            out.update(flatten(value, full, sep))
        else:
            out[full] = value
    return out


def scalar(value: Any) -> float | None:
    """The float a logged value stands for, or None when it is not a scalar number.

    Booleans are not metrics; NaN and +-Inf are kept.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def kind_of(value: Any) -> str:
    """A short name for a non-scalar value: image, histogram, table, string, list, ..."""
    if isinstance(value, Mapping):
        t = str(value.get("_type", "dict"))
        if t.startswith("image"):
            return "image"
        if t.startswith("table") or t.endswith("table"):
            return "table"
        return t
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (list, tuple)):
        return "list"
    if value is None:
        return "null"
    return type(value).__name__
