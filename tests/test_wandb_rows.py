"""The word-level helpers of the vectorised W&B decoder, on crafted bytes: exact or refused."""

from __future__ import annotations

import numpy as np
import pytest

from runwise_core.sources import wandb_rows
from runwise_core.sources.wandb_rows import Items, KeyTable, gather_short, parse_numbers


def padded(data: bytes) -> np.ndarray:
    return np.frombuffer(data + bytes(wandb_rows._PAD), np.uint8)


def spans(data: bytes, parts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    starts, pos = [], 0
    for part in parts:
        at = data.index(part, pos)
        starts.append(at)
        pos = at + len(part)
    return np.array(starts), np.array([len(p) for p in parts])


def test_gather_short_copies_bytes_and_fills_spaces():
    data = b"xx1.5yy-2.25e-308zzNaN"
    buf = padded(data)
    start, length = spans(data, [b"1.5", b"-2.25e-308", b"NaN"])
    rows = gather_short(buf, start, length).view(np.uint8).reshape(3, wandb_rows.SHORT)
    assert rows[0].tobytes() == b"1.5".ljust(24)
    assert rows[1].tobytes() == b"-2.25e-308".ljust(24)
    assert rows[2].tobytes() == b"NaN".ljust(24)


def items_for(data: bytes, values: list[bytes]) -> Items:
    buf = padded(data)
    start, length = spans(data, values)
    n = len(values)
    return Items(buf, np.zeros(n, np.int64), np.zeros(n, np.int64), start, start + length, ["k"])


def test_parse_numbers_reads_what_float_reads():
    values = [b"1.5", b"-0.0", b"NaN", b"Infinity", b"-Infinity", b"1e400", b"123456789012345678901234567890",
              b"2.2250738585072014e-308"]
    data = b"|".join(values)
    out = parse_numbers(items_for(data, values), np.arange(len(values)))
    expected = np.array([float(v) for v in values])
    assert out is not None and np.array_equal(out, expected, equal_nan=True)
    assert np.signbit(out[1])


@pytest.mark.parametrize("bad", [b"1\x005", b"1 5", b"abc", b"1.5.5", b"0x10"])
def test_parse_numbers_refuses_what_is_not_one_number(bad):
    values = [b"1.0", bad, b"2.0"]
    data = b"|".join(values)
    assert parse_numbers(items_for(data, values), np.arange(3)) is None


def test_ascii_check_finds_nul_and_high_bytes_short_and_long():
    values = [b'"plain"', b'"caf\xc3\xa9"', b'"nul\x00"', b'{"long": "' + b"x" * 40 + b'"}',
              b'{"long": "' + b"x" * 40 + b'\xff"}', b"1"]
    data = b"|".join(values)
    buf = padded(data)
    start, length = spans(data, values)
    ok = wandb_rows._ascii_text(buf, start, start + length)
    assert ok.tolist() == [True, False, False, True, False, True]


def test_groups_finds_keys_first_seen_late(monkeypatch):
    monkeypatch.setattr(wandb_rows, "_HEAD", 3)
    h = np.array([5, 5, 7, 5, 9, 7, 11, 9], dtype=np.uint64)
    group, reps = wandb_rows._groups(h)
    for i in range(h.size):
        for j in range(h.size):
            assert (group[i] == group[j]) == (h[i] == h[j])
    assert sorted(h[reps].tolist()) == [5, 7, 9, 11]
    assert sorted(reps.tolist()) == [0, 2, 4, 6]  # each group's first element


def key_field(name: bytes) -> bytes:
    return b"\x12" + bytes([len(name)]) + name  # nested_key


def test_key_ids_never_merge_keys_whose_hashes_collide(monkeypatch):
    """Force every field into one hash group: only fields equal to the group's first one
    keep a key; the others are refused (their records go to protobuf), never renamed."""
    fields = [key_field(b"train/loss"), key_field(b"train/lost"), key_field(b"train/loss"), key_field(b"a")]
    data = b"".join(fields)
    buf = padded(data)
    start, length = spans(data, fields)
    monkeypatch.setattr(wandb_rows, "_groups", lambda h: (np.zeros(h.size, np.int64), np.array([0])))
    names: list[str] = []
    ids = wandb_rows._key_ids(buf, start, length, KeyTable(), names, {})
    assert names == ["train/loss"]
    assert ids.tolist() == [0, -1, 0, -1]


def test_key_ids_group_long_and_short_keys_exactly():
    long_a = b"optimizer/param_groups/0/" + b"a" * 60
    long_b = b"optimizer/param_groups/0/" + b"a" * 59 + b"b"  # differs in the last byte only
    fields = [key_field(k) for k in (long_a, b"x", long_b, long_a, b"x")]
    data = b"".join(fields)
    buf = padded(data)
    start, length = spans(data, fields)
    names: list[str] = []
    ids = wandb_rows._key_ids(buf, start, length, KeyTable(), names, {})
    got = [names[i] for i in ids.tolist()]
    assert got == [k.decode() for k in (long_a, b"x", long_b, long_a, b"x")]


def test_a_value_nested_beyond_what_json_reads_comes_back_as_text():
    from runwise_core.sources.wandb_binary import decode_value

    deep = "[" * 100_000 + "]" * 100_000
    assert decode_value(deep) == deep
    assert decode_value('{"a": [1, 2]}') == {"a": [1, 2]}
    assert decode_value("NaN") != decode_value("NaN")  # float NaN
