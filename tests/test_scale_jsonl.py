"""The batch path of the legacy JSONL reader gives exactly what the per-line path gives.

``History.lines`` parses many lines as one JSON array and the rows as columns; ``History.line``
is the definition (one ``json.loads`` per line). Both are fed the same lines, ordinary and
odd, and must agree on every point, note, stamp, row count and key order.
"""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runwise_core.sources.wandb_history import History


def per_line(lines: list[bytes]) -> History:
    h = History("wandb-history.jsonl")
    for raw in lines:
        h.line(raw + b"\n")
        h.end_offset += len(raw) + 1
    return h


def batched(lines: list[bytes], cut: int | None = None) -> History:
    h = History("wandb-history.jsonl")
    if cut is None:
        h.lines(lines)
    else:
        h.lines(lines[:cut])
        h.lines(lines[cut:])
    return h


def assert_same(a: History, b: History) -> None:
    assert (a.rows, a.lineno, a.end_offset, a.notes, a.non_scalar) == (b.rows, b.lineno, b.end_offset, b.notes, b.non_scalar)
    assert (a.last_runtime == b.last_runtime) or (a.last_runtime is None and b.last_runtime is None)
    ma, mb = a.built(), b.built()
    assert list(ma) == list(mb)
    for key in ma:
        assert np.array_equal(ma[key].steps, mb[key].steps), key
        assert np.array_equal(ma[key].values, mb[key].values, equal_nan=True), key
    assert list(a.stamp_steps) == list(b.stamp_steps)
    assert np.array_equal(np.array(a.stamps), np.array(b.stamps))


def test_ordinary_rows_with_sparse_keys_nan_and_inf():
    lines = []
    for i in range(500):
        row = {"_step": i, "_runtime": i / 10, "_timestamp": 1.6e9 + i, "loss": 1 / (i + 1), "n": i}
        if i % 50 == 0:
            row["val/loss"] = 2 / (i + 1)
        if i == 7:
            row["loss"] = float("nan")
        if i == 9:
            row["n"] = float("inf")
        lines.append(json.dumps(row).encode())
    assert_same(batched(lines), per_line(lines))
    assert_same(batched(lines, cut=123), per_line(lines))


ODD = [
    b'{"_step": 1, "a": true}', b'{"_step": 2, "a": "text"}', b'{"_step": 3, "a": null}',
    b'{"_step": 4, "a": {"b": 1, "c": {"d": 2}}}', b'{"_step": 5, "img": {"_type": "image-file"}}',
    b'{"_step": 1e300, "a": 1}', b'{"_step": 2.7, "a": 1}', b'{"_step": -3, "a": 1}', b'{"a": 5}',
    b'{"_step": "x", "a": 1}', b'{"_step": 6, "a": 1' + b'0' * 400 + b'}', b'{"_step": 7, "a": 10000000000000000000001}',
    b'', b'   ', b'not json', b'[1, 2]', b'{"_step": 8}, {"_step": 9}', b'{"_step": 10, "a": 1, "a": 2}',
    b'{"_step": 11, "_timestamp": "late", "_runtime": null}', b'{"_step": 12, "_timestamp": NaN, "_runtime": Infinity}',
    b'{"_step": 13, "a": -0.0, "b": 1E5}', b'{"_wandb": {"runtime": 3}, "_step": 14}', b'\xef\xbb\xbf{"_step": 15}',
    b'{"_step": 16, "\xc3\xa9": 1}', b'{"_step": 17, "a": "\\u0000"}', b'{"_step": 9223372036854775807, "a": 1}',
    b'{"_step": -9223372036854775808, "a": 1}', b'{"_step": 9223372036854775808, "a": 1}',
]


def test_every_odd_line_alone_and_among_ordinary_ones():
    ordinary = [json.dumps({"_step": i, "a": i / 3}).encode() for i in range(20)]
    for odd in ODD:
        for lines in ([odd], ordinary[:5] + [odd] + ordinary[5:]):
            assert_same(batched(lines), per_line(lines))


json_value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70), st.booleans(), st.none(),
    st.text(max_size=3), st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 3), max_size=2))
row_strategy = st.dictionaries(st.sampled_from(["_step", "_timestamp", "_runtime", "loss", "acc", "lr", "_wandb"]),
                               json_value, max_size=6)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(rows=st.lists(row_strategy, max_size=30), cut=st.integers(0, 30), numeric=st.booleans())
def test_random_rows(rows, cut, numeric):
    if numeric:  # mostly-numeric rows take the batch path; the rest test the fall-back
        rows = [{k: (v if isinstance(v, float) else float(i)) for k, v in r.items()} for i, r in enumerate(rows)]
    lines = [json.dumps(r).encode() for r in rows]
    assert_same(batched(lines, cut=min(cut, len(lines))), per_line(lines))
    assert_same(batched(lines), per_line(lines))
    assert all(math.isfinite(v) or v != v or abs(v) == math.inf for h in (batched(lines),)
               for s in h.built().values() for v in s.values.tolist())
