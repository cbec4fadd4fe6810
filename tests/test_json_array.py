"""parse_array gives what json.loads gives, value for value, error for error.

The fast parser (pydantic_core.from_json) refuses some texts json.loads takes; those are
parsed again by json.loads. These tests feed both the texts where the two parsers part
ways and random texts, valid and mangled, and compare repr() of the results (repr tells
-0.0 from 0.0, 1 from 1.0, and NaN from anything else).
"""

from __future__ import annotations

import json
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwise_core.sources import json_array
from runwise_core.sources.json_array import parse_array


def loads_outcome(blob: bytes):
    try:
        value = json.loads(blob)
    except ValueError:
        return None
    return repr(value) if isinstance(value, list) else None


def parse_outcome(blob: bytes):
    value = parse_array(blob)
    return None if value is None else repr(value)


PARTING = [
    b'["\\ud800"]', b'["\\udc00x", "\\ud83d\\ude00"]', b'["\xed\xa0\x80"]',  # lone surrogates, escaped and as bytes
    b'[' + b'[' * 300 + b']' * 300 + b']',  # deeper than the fast parser goes
    b'\xef\xbb\xbf[1]',  # a byte-order mark
    b'[' + b'1' * 4300 + b']', b'[' + b'1' * 4301 + b']', b'[-' + b'9' * 4300 + b']',  # the int digit limit
    b'[NaN, Infinity, -Infinity, -NaN]', b'[nan]', b'[1e400, -1e400, 1e-400, 5e-324, -0.0, -0]',
    b'[{"a": 1, "b": 2, "a": 3}]', b'[1,]', b'[01]', b'[1.]', b'["a\nb"]', b'["\t"]', b'[1]\x0c', b'\x0c[1]',
    b'[1] ', b' \r\n[1]\n', b'{"a": 1}', b'1', b'', b'["\xff"]', b'[true, false, null, "\\u0000"]',
]


@pytest.mark.parametrize("blob", PARTING, ids=range(len(PARTING)))
def test_texts_the_parsers_part_ways_on_read_as_json_loads_reads_them(blob):
    assert parse_outcome(blob) == loads_outcome(blob)


def test_nesting_past_the_stack_is_refused_not_raised():
    """json.loads raises RecursionError here; the batch refuses it, so the caller's line by
    line path can name the line."""
    blob = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(blob)
    assert parse_array(blob) is None


@pytest.mark.skipif(not hasattr(sys, "set_int_max_str_digits"), reason="no int digit limit before 3.10.7")
def test_a_lowered_int_digit_limit_is_kept():
    """json.loads refuses ints longer than sys.get_int_max_str_digits(); the fast parser has
    its own, fixed limit, so under a lower one it must not be used for such texts."""
    old = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(640)
        for digits in (640, 641, 700):
            blob = b"[" + b"7" * digits + b"]"
            assert parse_outcome(blob) == loads_outcome(blob)
        assert parse_array(b"[" + b"7" * 700 + b"]") is None
    finally:
        sys.set_int_max_str_digits(old)


def test_without_the_fast_parser_json_loads_reads_alone(monkeypatch):
    monkeypatch.setattr(json_array, "_fast_parser", lambda: None)
    assert parse_outcome(b'[{"a": NaN}, 1e400]') == loads_outcome(b'[{"a": NaN}, 1e400]')


def test_the_fast_parser_is_used_when_installed():
    pytest.importorskip("pydantic_core", minversion="2.10")
    assert json_array._fast_parser() is not None


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**80, 2**80),
              st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(values=st.lists(json_values, max_size=6), ascii_only=st.booleans())
def test_random_values(values, ascii_only):
    blob = json.dumps(values, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert parse_outcome(blob) == loads_outcome(blob)


def test_mangled_texts():
    """Rows with every kind of JSON token, each mangled by a few byte edits."""
    rnd = random.Random(1)
    seeds = [b'[{"loss": 2.775, "lr": 3e-4, "_step": 0, "ok": true, "s": "x\\u00e9\\n", "n": null, "d": {"a": [1, -0.0]}}]',
             b'[1, -2, 3.5e10, NaN, Infinity, -Infinity, "a", {"": 0}, {"a": 1, "a": 2}, "\\ud83d\\ude00", 123456789012345678901]']
    alphabet = list(b'{}[],:"\\ -+.0123456789eEaflnrstuNIy\t\r\n\x00\x0b\x0c\x7f') + [0xc3, 0xa9, 0xff, 0xed, 0xa0, 0x80, 0xef]
    for _ in range(3000):
        text = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(text))
            edit = rnd.random()
            if edit < 0.4:
                text[at:at] = bytes([rnd.choice(alphabet)])
            elif edit < 0.7:
                del text[at]
            else:
                text[at] = rnd.choice(alphabet)
        assert parse_outcome(bytes(text)) == loads_outcome(bytes(text)), bytes(text)
