"""Stream the rows of a JSON-lines or CSV file into a :class:`RowTable`, never raising on
damage.

Files are read as bytes, line by line, and decoded per line: one bad byte costs one line, not
the file. An invalid JSON line, a non-object line, a line that is not UTF-8, and a torn last
line (a writer still appending) are skipped and counted in a :class:`DamageLog`. Only a file
that cannot be opened raises :class:`~runwise_core.errors.UnreadableLog`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import UnreadableLog
from .row_table import DamageLog, RowTable, csv_cell_value


def _open(path: Path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UnreadableLog(f"cannot read {path}: {exc.strerror or exc}") from exc


def _decoded_lines(path: Path, damage: DamageLog) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without line end, ended with a newline) for each UTF-8 line."""
    with _open(path) as fh:
        try:
            for number, raw in enumerate(fh, start=1):
                ended = raw.endswith(b"\n")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    damage.skip(number, f"not UTF-8 at byte {exc.start}")
                    continue
                if number == 1:
                    text = text.lstrip("\ufeff")  # a byte-order mark some editors write
                yield number, text.rstrip("\r\n"), ended
        except OSError as exc:
            raise UnreadableLog(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_jsonl(path: Path, table: RowTable, damage: DamageLog) -> None:
    """Append every JSON-object line of ``path`` to ``table``; blank lines are ignored."""
    for number, text, ended in _decoded_lines(path, damage):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            reason = "partial last line" if not ended else f"invalid JSON ({exc.msg})"
            damage.skip(number, reason)
            continue
        if not isinstance(obj, dict):
            damage.skip(number, f"a JSON {type(obj).__name__}, not an object")
            continue
        table.add_json_row(number, obj)


def read_csv(path: Path, table: RowTable, damage: DamageLog) -> list[str]:
    """Append every data row of the CSV ``path`` to ``table``; returns the header.

    The first row is the header. Empty cells are missing values (Lightning's sparse rows),
    cells that are not float literals are strings. A row with more cells than the header, or
    a torn last row (no newline and fewer cells), is skipped.
    """
    state = {"ended": True, "line": 0}

    def lines() -> Iterator[str]:
        for number, text, ended in _decoded_lines(path, damage):
            state["ended"], state["line"] = ended, number
            yield text

    reader = csv.reader(lines())
    header: list[str] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            damage.skip(state["line"], f"bad CSV ({exc})")
            continue
        if not header:
            header = [c.strip() for c in cells]
            if not any(header):
                header = []
            continue
        if not cells or not any(c.strip() for c in cells):
            continue
        line = state["line"]
        if len(cells) > len(header):
            damage.skip(line, f"{len(cells)} cells under a {len(header)}-column header")
            continue
        if len(cells) < len(header) and not state["ended"]:
            damage.skip(line, "partial last line")
            continue
        table.add_row(line, ((key, *csv_cell_value(text)) for key, text in zip(header, cells) if key))
    return header
