"""Stream the rows of a JSON-lines or CSV file into a :class:`RowTable`, never raising on
damage, and resume a read from the on-disk cache.

Files are read as bytes, line by line, and decoded per line: one bad byte costs one line, not
the file. An invalid JSON line, a non-object line, a line that is not UTF-8, and a torn last
line (a writer still appending) are skipped and counted in a :class:`DamageLog`. Only a file
that cannot be opened raises :class:`~runwise_core.errors.UnreadableLog`.

Resuming. The readers consume complete (newline-ended) lines and hand back the unterminated
last line, if any, unprocessed; a :class:`Cursor` says how far they got. :func:`read_table`
stores the table at that point in the catalog's cache (:mod:`runwise_core.cache`) and only
then adds the tail, so the cache never holds a line a writer may still be finishing. Next
time, an unchanged file costs a cache load, a grown one the new lines only.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..cache import lookup as cache_lookup
from ..errors import UnreadableLog
from .row_table import DamageLog, RowTable, csv_cell_value

CACHE_KINDS = {"jsonl": "rows-jsonl-2", "csv": "rows-csv-2"}


@dataclass
class Cursor:
    """How far a read got: bytes and count of complete lines consumed, and the CSV header."""

    offset: int = 0
    line: int = 0
    header: list[str] = field(default_factory=list)


@dataclass
class Tail:
    """The unterminated last line: its number and bytes (not yet read into the table)."""

    line: int
    raw: bytes


def _open(path: Path, offset: int):
    try:
        fh = open(path, "rb")
        fh.seek(offset)
        return fh
    except OSError as exc:
        raise UnreadableLog(f"cannot read {path}: {exc.strerror or exc}") from exc


def _decode(raw: bytes, number: int, damage: DamageLog) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        damage.skip(number, f"not UTF-8 at byte {exc.start}")
        return None
    if number == 1:
        text = text.lstrip("\ufeff")  # a byte-order mark some editors write
    return text.rstrip("\r\n")


def _complete_lines(path: Path, cursor: Cursor, tail: list[Tail]) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of each newline-ended line after ``cursor``; an unterminated
    last line goes to ``tail``. The caller advances the cursor as it consumes lines."""
    with _open(path, cursor.offset) as fh:
        number = cursor.line
        try:
            for raw in fh:
                number += 1
                if not raw.endswith(b"\n"):
                    tail.append(Tail(number, raw))
                    return
                yield number, raw
        except OSError as exc:
            raise UnreadableLog(f"cannot read {path}: {exc.strerror or exc}") from exc


def _json_line(text: str, number: int, ended: bool, table: RowTable, damage: DamageLog) -> None:
    if not text.strip():
        return
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        reason = getattr(exc, "msg", type(exc).__name__)
        damage.skip(number, f"invalid JSON ({reason})" if ended else "partial last line")
        return
    if not isinstance(obj, dict):
        damage.skip(number, f"a JSON {type(obj).__name__}, not an object")
        return
    table.add_json_row(number, obj)


def read_jsonl(path: Path, table: RowTable, damage: DamageLog, cursor: Cursor | None = None) -> Tail | None:
    """Append every complete JSON-object line after ``cursor`` to ``table`` (blank lines are
    ignored) and return the unterminated last line, unread; see :func:`add_tail`."""
    cursor = cursor or Cursor()
    tail: list[Tail] = []
    for number, raw in _complete_lines(path, cursor, tail):
        text = _decode(raw, number, damage)
        if text is not None:
            _json_line(text, number, True, table, damage)
        cursor.offset += len(raw)
        cursor.line = number
    return tail[0] if tail else None


def _csv_row(cells: list[str], line: int, ended: bool, cursor: Cursor, table: RowTable, damage: DamageLog) -> None:
    if not cursor.header:
        header = [c.strip() for c in cells]
        cursor.header = header if any(header) else []
        return
    if not cells or not any(c.strip() for c in cells):
        return
    header = cursor.header
    if len(cells) > len(header):
        damage.skip(line, f"{len(cells)} cells under a {len(header)}-column header")
        return
    if len(cells) < len(header) and not ended:
        damage.skip(line, "partial last line")
        return
    table.add_row(line, ((key, *csv_cell_value(text)) for key, text in zip(header, cells) if key))


def read_csv(path: Path, table: RowTable, damage: DamageLog, cursor: Cursor | None = None) -> Tail | None:
    """Append every data row after ``cursor`` to ``table`` and return the unterminated last
    line, unread; the header (the first row) is kept in the cursor.

    Empty cells are missing values (Lightning's sparse rows), cells that are not float
    literals are strings. A row with more cells than the header, or a torn last row (no
    newline and fewer cells), is skipped.
    """
    cursor = cursor or Cursor()
    tail: list[Tail] = []
    pos = {"offset": cursor.offset, "line": cursor.line}

    def lines() -> Iterator[str]:
        for number, raw in _complete_lines(path, cursor, tail):
            pos["offset"] += len(raw)
            pos["line"] = number
            text = _decode(raw, number, damage)
            if text is not None:
                yield text

    reader = csv.reader(lines())
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            damage.skip(pos["line"], f"bad CSV ({exc})")
            continue
        _csv_row(cells, pos["line"], True, cursor, table, damage)
        cursor.offset, cursor.line = pos["offset"], pos["line"]
    cursor.offset, cursor.line = pos["offset"], pos["line"]
    return tail[0] if tail else None


def add_tail(kind: str, tail: Tail | None, cursor: Cursor, table: RowTable, damage: DamageLog) -> None:
    """Read the unterminated last line into ``table``: a complete JSON object or CSV row is a
    row; a torn one is noted as a partial last line."""
    if tail is None:
        return
    text = _decode(tail.raw, tail.line, damage)
    if text is None:
        return
    if kind == "csv":
        try:
            cells = next(csv.reader([text]), [])
        except csv.Error as exc:
            damage.skip(tail.line, f"bad CSV ({exc})")
            return
        _csv_row(cells, tail.line, False, cursor, table, damage)
    else:
        _json_line(text, tail.line, False, table, damage)


def read_table(path: Path, kind: str) -> tuple[RowTable, DamageLog]:
    """Every row of the ``kind`` (``"jsonl"`` or ``"csv"``) file ``path``, through the cache
    when one is in effect: an unchanged file is not parsed again, a grown one from the last
    complete line read before, a rewritten one afresh."""
    cache, facts, entry, plan = cache_lookup(CACHE_KINDS[kind], path)
    if entry is not None and plan != "stale":
        table, damage, cursor = _restore(entry.meta, entry.arrays, entry.end_offset)
    else:
        table, damage, cursor = RowTable(), DamageLog(), Cursor()
    start = cursor.offset
    read = read_csv if kind == "csv" else read_jsonl
    tail = read(path, table, damage, cursor)
    if cache is not None and facts is not None and (cursor.offset > start or plan == "stale"):
        meta, arrays = table.state()
        meta.update(damage=damage.state(), line=cursor.line, header=cursor.header)
        cache.put(CACHE_KINDS[kind], path, facts, cursor.offset, meta, arrays)
        del meta, arrays  # numpy views of the table's buffers: while they live, add_tail cannot append
    add_tail(kind, tail, cursor, table, damage)
    return table, damage


def _restore(meta: dict, arrays: dict, end_offset: int) -> tuple[RowTable, DamageLog, Cursor]:
    table = RowTable.restore(meta, arrays)
    damage = DamageLog.restore(meta["damage"])
    return table, damage, Cursor(end_offset, int(meta["line"]), list(meta["header"]))
