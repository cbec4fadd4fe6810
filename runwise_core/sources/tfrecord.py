"""TFRecord framing, as TensorBoard event files use it, read as a stream.

Each record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32
masked_crc32c(data)``, little-endian; the mask is ``((crc >> 15) | (crc << 17)) + 0xa282ead8``.

What is checked, and why. The length CRC is checked on every record: a wrong length would
derail the framing of everything after it, and 8 bytes cost nothing. The data CRC is *not*
checked: CRC-32C has no C implementation in the standard library, and a pure-Python one reads
about 10 MB/s, which would dominate the read of a large log; a damaged payload is still caught
when its protobuf does not parse (that record alone is skipped), and a flipped bit inside a
float is the one thing left undetected.

Damage never raises: a bad length CRC ends the read of the file there, and a torn last record
(the writer still appending) ends it quietly; both are described in ``notes`` with the byte
offset. Files are read in blocks, never whole.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from ..errors import UnreadableLog

_HEADER = struct.Struct("<QI")
_BLOCK = 1 << 22


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), for short inputs (the 8-byte record lengths)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class _LengthCrcs(dict):
    """Masked CRCs of 8-byte record lengths, memoised: a log of scalars has few distinct
    record lengths, so the checksum of each is computed once."""

    def __missing__(self, key: bytes) -> int:
        if len(self) > 65536:
            self.clear()
        value = self[key] = masked_crc32c(key)
        return value


_LENGTH_CRC = _LengthCrcs()


def read_records(path: Path, notes: list[str], start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(byte offset, data) of each complete record of ``path`` from byte ``start`` (a record
    boundary, say where an earlier read ended), in order. A record ends at ``offset + 16 +
    len(data)``.

    Raises :class:`UnreadableLog` only when the file cannot be opened or read.
    """
    try:
        fh = open(path, "rb")
        fh.seek(start)
    except OSError as exc:
        raise UnreadableLog(f"cannot read {path}: {exc.strerror or exc}") from exc
    with fh:
        buf = b""
        base = start  # file offset of buf[0]
        pos = 0
        eof = False
        while True:
            if len(buf) - pos < _HEADER.size + 4 and not eof:
                try:
                    more = fh.read(_BLOCK)
                except OSError as exc:
                    raise UnreadableLog(f"cannot read {path} at byte {base + pos}: {exc.strerror or exc}") from exc
                base += pos
                buf, pos = buf[pos:] + more, 0
                eof = not more
            if len(buf) - pos == 0:
                return
            if len(buf) - pos < _HEADER.size:
                notes.append(f"{path.name}: torn last record at byte {base + pos} (a writer still appending?)")
                return
            length, length_crc = _HEADER.unpack_from(buf, pos)
            if _LENGTH_CRC[buf[pos:pos + 8]] != length_crc:
                notes.append(f"{path.name}: bad record length checksum at byte {base + pos}; read stopped there")
                return
            end = pos + _HEADER.size + length + 4
            while len(buf) < end and not eof:
                try:
                    more = fh.read(max(_BLOCK, end - len(buf)))
                except OSError as exc:
                    raise UnreadableLog(f"cannot read {path} at byte {base + len(buf)}: {exc.strerror or exc}") from exc
                eof = not more
                buf += more
            if len(buf) < end:
                notes.append(f"{path.name}: torn last record at byte {base + pos} (a writer still appending?)")
                return
            yield base + pos, buf[pos + _HEADER.size:end - 4]
            pos = end
