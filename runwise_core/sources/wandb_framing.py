"""The framing of W&B's binary transaction log (``run-<id>.wandb``), read as a stream.

Layout (leveldb-log style): a 7-byte header (``:W&B``, uint16 0xBEE1 little-endian, uint8
version), then 32 KiB blocks of chunks. A chunk is a 7-byte header ``<IHB>`` (crc32, length,
type: 1 full, 2 first, 3 middle, 4 last) and its payload; the crc is
``zlib.crc32(payload, zlib.crc32(bytes([type])))``. Fewer than 7 bytes left in a block are
zero padding. The reassembled payloads are protobuf ``Record`` messages.

Files are read block by block, never whole. Damage (a bad crc, a chunk that overruns its
block, a torn record at the end of a file still being written, a zero-filled tail left by a
killed process) ends the read at the last good record and is described in one line in
``notes``: the data before it is returned, never an exception.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import UnreadableLog
from .protowire import varint

BLOCK = 32 * 1024
HEADER = 7
CHUNK_HEADER = 7
MAGIC = b":W&B"
MAGIC_IDENT = 0xBEE1
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_CHUNK = struct.Struct("<IHB")
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in range(256)}


@dataclass
class ReadReport:
    """What the framing reader saw: where it stopped and why."""

    path: Path
    end_offset: int = HEADER  # offset just past the last complete record
    records: int = 0
    notes: list[str] = field(default_factory=list)
    #: Where the first record read begins (a read that resynchronised at a block start may
    #: begin after the tail of a record that started before it); None before any record.
    first_record: int | None = None
    #: The read ended at its ``stop`` offset (the next record belongs to a later part).
    reached_stop: bool = False


def check_header(head: bytes, path: Path) -> None:
    """Raise :class:`UnreadableLog` unless ``head`` is a W&B log header."""
    if len(head) < HEADER:
        raise UnreadableLog(f"{path}: {len(head)} bytes, too short for a W&B log header (a run that had not started writing?)")
    magic, ident, _version = head[:4], *struct.unpack("<HB", head[4:7])
    if magic != MAGIC or ident != MAGIC_IDENT:
        raise UnreadableLog(f"{path}: not a W&B transaction log (header {head[:7]!r}); expected ':W&B' and 0xBEE1")


def field_number(payload: bytes) -> int:
    """The protobuf field number of a Record's oneof body, read from its leading tags.

    Reading the tags alone lets the decoder skip record kinds it does not need (most of a
    big file is summary records) without parsing them. The fields outside the oneof
    (``num`` 1, ``control`` 16, ``uuid`` 19, ``_info`` 200) are stepped over; protobuf writes
    fields in number order, so they may precede the body. 0: empty or unreadable.
    """
    pos = 0
    n = len(payload)
    try:
        while pos < n:
            tag, pos = varint(payload, pos)
            number, wire = tag >> 3, tag & 7
            if number not in _NOT_BODY:
                return number
            if wire == 0:
                _, pos = varint(payload, pos)
            elif wire == 2:
                length, pos = varint(payload, pos)
                pos += length
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            else:
                return 0
    except ValueError:  # the payload ends inside a tag or a length
        return 0
    return 0


_NOT_BODY = frozenset({1, 16, 19, 200})


def iter_payloads(path: Path, report: ReadReport, start: int = HEADER) -> Iterator[bytes]:
    """Yield each complete record payload of the log at ``path`` from ``start`` on.

    ``start`` must be the header's end or an ``end_offset`` of an earlier read of the same
    file (a record boundary), which lets a reader pick up a growing file where it left off.
    ``report`` is filled in as the read goes: ``end_offset`` is always a record boundary.
    """
    for batch in iter_batches(path, report, start):
        yield from batch


def iter_batches(path: Path, report: ReadReport, start: int = HEADER, stop: int | None = None,
                 resync: bool = False) -> Iterator[list[bytes]]:
    """Like :func:`iter_payloads`, but one list of payloads per 32 KiB block read.

    A million-row log holds millions of records; handing them over a block at a time keeps
    the per-record cost to the framing loop itself. When a list is yielded, ``report``
    describes the read up to its last record.

    For reading one part of a big log (:mod:`.parallel`): with ``stop`` (a block boundary),
    the read yields the records that *begin* before ``stop`` (the last may end after it) and
    ends cleanly at the first record beginning at or after it (``report.reached_stop``).
    With ``resync``, ``start`` is a block boundary rather than a record boundary: the
    middle and last chunks of a record begun in an earlier block are stepped over, and the
    read begins at the first record that starts here (``report.first_record``).
    """
    try:
        f = open(path, "rb")
    except OSError as e:
        raise UnreadableLog(f"{path}: cannot open ({e.strerror or e})") from e
    with f:
        check_header(f.read(HEADER), path)
        report.end_offset = start
        yield from _chunks(f, path, report, start, stop, resync)


def _chunks(f: BinaryIO, path: Path, report: ReadReport, start: int, stop_at: int | None = None,
            resync: bool = False) -> Iterator[list[bytes]]:
    # One tight loop per block: locals only, the report updated once per block (this loop
    # runs once per record, ~3 million times for a 1M-step run).
    block_start = (start // BLOCK) * BLOCK
    f.seek(block_start)
    pending: list[bytes] = []
    pending_start = 0
    unpack = _CHUNK.unpack_from
    crc32 = zlib.crc32
    type_crc = _TYPE_CRC
    full_crc = _TYPE_CRC[FULL]
    notes = report.notes
    skipping = resync  # stepping over the tail of a record begun before ``start``
    while True:
        past_stop = stop_at is not None and block_start >= stop_at
        if past_stop and not pending:
            report.reached_stop = True
            return
        block = f.read(BLOCK)
        if not block:
            break
        pos = start - block_start if block_start <= start < block_start + BLOCK else 0
        if block_start == 0 and pos < HEADER:
            pos = HEADER
        size = len(block)
        out: list[bytes] = []
        append = out.append
        end_offset = report.end_offset
        stop = False
        last = size - CHUNK_HEADER
        careful = past_stop or skipping  # the fast path below is for the plain middle of a read
        while pos <= last:
            crc, length, kind = unpack(block, pos)
            end = pos + CHUNK_HEADER + length
            if kind == FULL and not careful and end <= size and length:
                # The common case first: a whole record in one chunk, checksum good.
                payload = block[pos + CHUNK_HEADER:end]
                if crc32(payload, full_crc) == crc:
                    if pending:
                        notes.append(f"record starting at byte {pending_start:,} has no last chunk; skipped")
                        pending = []
                    end_offset = block_start + end
                    append(payload)
                    pos = end
                    continue
            if past_stop and kind in (FULL, FIRST):
                # The next part's first record. A record still pending here lacks its last
                # chunk: left unread, so that the one read that goes on from ``end_offset``
                # (the next part's, or this one's resumed) says so once.
                stop = True
                report.reached_stop = True
                break
            body = pos + CHUNK_HEADER
            payload = block[body:end]
            if skipping and kind in (FULL, FIRST):
                skipping = False
                careful = past_stop
                report.first_record = end_offset = block_start + pos
            if end > size or (crc == 0 and length == 0 and kind == 0):
                at = block_start + pos
                report.end_offset = end_offset
                if crc == 0 and length == 0 and kind == 0:
                    # Zero fill: either the rest of the file (a killed writer) or a torn block.
                    if _rest_is_zero(f, block, pos):
                        notes.append(f"zero-filled tail from byte {at:,} (the writer was killed); read up to there")
                    else:
                        notes.append(f"zero bytes inside the log at byte {at:,}; read stops there")
                elif size < BLOCK:
                    _torn(report, at, "the file ends inside a chunk (still being written, or cut)")
                else:
                    notes.append(f"chunk at byte {at:,} overruns its 32 KiB block (length {length:,}); read stops there")
                stop = True
                break
            if crc32(payload, type_crc[kind]) != crc:
                notes.append(f"bad checksum at byte {block_start + pos:,}; read stops at the last good record (byte {end_offset:,})")
                stop = True
                break
            if skipping and kind in (MIDDLE, LAST):
                pass  # the tail of a record begun before this read's start
            elif kind == FULL:
                if pending:
                    notes.append(f"record starting at byte {pending_start:,} has no last chunk; skipped")
                    pending = []
                end_offset = block_start + end
                out.append(payload)
            elif kind == FIRST:
                pending = [payload]
                pending_start = block_start + pos
            elif kind == MIDDLE and pending:
                pending.append(payload)
            elif kind == LAST and pending:
                pending.append(payload)
                end_offset = block_start + end
                out.append(b"".join(pending))
                pending = []
            else:
                notes.append(f"unexpected chunk type {kind} at byte {block_start + pos:,}; read stops there")
                stop = True
                break
            pos = end
        report.end_offset = end_offset
        report.records += len(out)
        if out:
            yield out
        if stop:
            return
        if size < BLOCK:
            # zeros are block padding only where no chunk header fits; elsewhere they are the
            # start of a torn header (a crc beginning with 0x00) or a short zero-filled tail
            if block[pos:].strip(b"\0") or (pos < size and BLOCK - pos >= CHUNK_HEADER):
                _torn(report, block_start + pos, "the file ends inside a chunk header")
                return
            break
        block_start += BLOCK
    if pending:
        _torn(report, pending_start, "the last record is incomplete (still being written, or cut)")
    elif report.records == 0 and start <= HEADER:
        report.notes.append(f"no records after the {HEADER}-byte header (a run that had not written any yet, or a cut file)")


def _torn(report: ReadReport, at: int, why: str) -> None:
    report.notes.append(f"{why} at byte {at:,}; read up to byte {report.end_offset:,}")


def _rest_is_zero(f: BinaryIO, block: bytes, pos: int) -> bool:
    if block[pos:].strip(b"\0"):
        return False
    here = f.tell()
    try:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return True
            if chunk.strip(b"\0"):
                return False
    finally:
        f.seek(here)
