"""Protobuf wire-format primitives for the readers that decode by hand (TensorBoard events,
the leading tags of W&B records), where a generated module would cost a dependency or a
full parse."""

from __future__ import annotations


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The base-128 varint at ``buf[pos:]`` and the position after it.

    Raises ValueError when the buffer ends inside it or it runs past 64 bits: the caller
    treats the record as damaged.
    """
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
