"""The batch path of the legacy JSONL reader gives exactly what the per-line path gives.

``History.lines`` and ``History.block`` (the reader's: lines as read, newlines kept) parse
many lines as one JSON array and the rows as columns; ``History.line`` is the definition
(one ``json.loads`` per line). All are fed the same lines, ordinary and odd, and must agree
on every point, note, stamp, row count and key order.
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


def blocked(lines: list[bytes], cut: int | None = None) -> History:
    h = History("wandb-history.jsonl")
    for part in ([lines] if cut is None else [lines[:cut], lines[cut:]]):
        h.block(b"".join(raw + b"\n" for raw in part))
    return h


def assert_same(a: History, b: History) -> None:
    assert (a.rows, a.lineno, a.end_offset, a.notes, a.non_scalar) == (b.rows, b.lineno, b.end_offset, b.notes, b.non_scalar)
    assert a.stepless == b.stepless
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
    assert_same(blocked(lines), per_line(lines))
    assert_same(blocked(lines, cut=123), per_line(lines))


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
            assert_same(blocked(lines), per_line(lines))


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
    assert_same(blocked(lines, cut=min(cut, len(lines))), per_line(lines))
    assert all(math.isfinite(v) or v != v or abs(v) == math.inf for h in (batched(lines),)
               for s in h.built().values() for v in s.values.tolist())


# Lines that are not one JSON object each, yet join into an array of as many objects: the
# batch must see through them (each line alone is invalid JSON).
RUN_ON = [
    [b'{"a": 1', b'"b": 2}', b'{"c": 3}, {"d": 4}'],
    [b'{"_wandb": [{}', b'{}], "a": 1}', b'{"b": 1}, {"c": 2}'],
    [b'{"_wandb": {"x": [{}', b'{}]}, "a": 1}', b'{"b": 1}, {"c": 2}'],
    [b' {"_wandb": [{} ', b'\t{}], "a": 1}\r', b'{"b": 1}, {"c": 2}', b''],
]


def test_a_value_running_on_into_the_next_line_is_not_read_as_one_row():
    for lines in RUN_ON:
        one = per_line(lines)
        assert one.rows == 0 and len(one.notes) == len([x for x in lines if x.strip()])
        assert_same(batched(lines), one)
        assert_same(blocked(lines), one)


EDGE = [
    # booleans beside the 1.0 and 0.0 they would pass for
    [b'{"_step": 0, "a": 1}', b'{"_step": 1, "a": true}', b'{"_step": 2, "a": 0.0}'],
    [b'{"_step": 0, "_timestamp": 1, "a": 1}', b'{"_step": 1, "_timestamp": false, "a": 1}'],
    [b'{"_step": true, "a": 1}', b'{"_step": 1, "a": 1}'],
    [b'{"_step": 5, "_runtime": true}', b'{"_step": 6, "_runtime": 1}'],
    # steps past 2**53, as ints and as floats in one key set, and at the int64 edges
    [b'{"_step": 9007199254740993, "a": 1}', b'{"_step": 1.5, "a": 2}', b'{"_step": -9007199254740995, "a": 3}'],
    [b'{"_step": 9223372036854775807, "a": 1}', b'{"_step": -9223372036854775808.0, "a": 2}'],
    [b'{"_step": 9223372036854775808.0, "a": 1}', b'{"_step": 2, "a": 2}'],
    [b'{"_step": -0.5, "a": 1}', b'{"_step": 1e15, "a": 2}', b'{"_step": 4503599627370497.5, "a": 3}'],
    # _wandb holds anything and is not read; a list in it sends the lines one by one
    [b'{"_step": 1, "_wandb": {"runtime": 3}, "a": 1}', b'{"_step": 2, "_wandb": 7, "a": 2}'],
    [b'{"_step": 1, "_wandb": [1, 2], "a": 1}', b'{"_step": 2, "_wandb": {"x": {"y": []}}, "a": 2}'],
    [b'{"_wandb": null}', b'{"_wandb": "x", "a": 1}'],
    # rows without _step, alone and among rows with one
    [b'{"a": 1}', b'{"a": 2, "_step": 10}', b'{"b": 3}'],
    [b'{"a": 1}', b'{"a": 2, "_step": 10}', b'{"b": 3}', b'{"_step": "x", "a": 4}'],
    # whitespace around the objects, CRLF line ends, blank lines of every kind
    [b' {"_step": 1, "a": 1}', b'{"_step": 2, "a": 2}\r', b'\t{"_step": 3, "a": 3} ', b'', b'\x0b', b'  '],
    [b' {"_step": 1, "a": 1}', b'{"_step": 2, "a": 2}\r', b'', b'\x0c{"_step": 4}'],
    [b'{"_step": 1, "a": 1}\r', b'{"_step": 2, "a": 2}\r', b'\r'],
    # ints past float range, nested numbers, huge and tiny floats, NaN and infinities
    [b'{"_step": 1, "a": 1e400, "b": -1e400, "c": 5e-324, "d": 1e-400}', b'{"_step": 2, "a": NaN, "b": -Infinity, "c": 0, "d": 1}'],
    [b'{"_step": 1, "a": 179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791}'],
    [b'{"_step": 1, "a": 179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368}'],
    [b'{"_step": 1, "a": %d}' % (2**1024 - 2**970), b'{"_step": 2, "a": 1.5}'],  # rounds up past float range
]


def test_batch_edges_read_as_line_by_line():
    for lines in EDGE:
        for cut in (None, 1):
            assert_same(batched(lines, cut=cut), per_line(lines))
            assert_same(blocked(lines, cut=cut), per_line(lines))


def test_lines_json_loads_takes_and_the_fast_parser_refuses_are_read_alike():
    """A lone surrogate, nesting past the fast parser's depth, a key from an escape: the
    batch parses these with json.loads, as the per-line definition does."""
    deep = b'{"_step": 2, "_wandb": ' + b'{"a": ' * 300 + b'1' + b'}' * 300 + b', "x": 2}'
    cases = [
        [b'{"_step": 1, "\\ud800": 1.5}', b'{"_step": 2, "\\ud800": 2.5}'],
        [b'{"_step": 1, "x": 1}', deep, b'{"_step": 3, "x": 3}'],
        [b'{"_step": 1, "\\u0078": 1, "x": 2}'],
        [b'{"_step": 1, "\xed\xa0\x80": 1}'],  # a surrogate in UTF-8 bytes: json.loads passes it
    ]
    for lines in cases:
        one = per_line(lines)
        assert one.rows == len(lines) and not one.notes
        assert_same(batched(lines), one)
        assert_same(blocked(lines), one)


wide_value = st.one_of(
    json_value, st.integers(2**53 - 3, 2**53 + 3), st.integers(2**63 - 2, 2**63 + 1), st.sampled_from([0, 1, 0.0, 1.0, -0.0]),
    st.lists(st.integers(0, 2), max_size=2), st.recursive(st.integers(0, 1), lambda inner: st.dictionaries(
        st.sampled_from(["x", "y"]), st.one_of(inner, st.lists(inner, max_size=1)), max_size=2), max_leaves=4))
wide_row = st.dictionaries(st.sampled_from(["_step", "_timestamp", "_runtime", "loss", "lr", "_wandb"]), wide_value, max_size=5)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(rows=st.lists(wide_row, max_size=20), numbers_only=st.booleans(), spaced=st.booleans())
def test_random_rows_with_lists_bools_and_big_steps(rows, numbers_only, spaced):
    if numbers_only:  # keep the batch path busy: only _wandb keeps odd values
        rows = [{k: (v if k == "_wandb" or (type(v) in (int, float)) else i) for k, v in r.items()} for i, r in enumerate(rows)]
    lines = [json.dumps(r, separators=(",", ":") if spaced else None).encode() for r in rows]
    assert_same(batched(lines), per_line(lines))
    assert_same(blocked(lines), per_line(lines))
