"""A format-neutral document: what a layout produces and the text/markdown writers consume.

Layouts (``layout_*.py``) turn a typed view result into a :class:`Doc` of lines, tables and
code blocks; :mod:`.text` and :mod:`.markdown` write it; :mod:`.budget` trims its tables to
a token budget. So text and markdown always carry the same facts, and no writer parses
another writer's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Heading:
    """The first line of an output: what it is about."""

    text: str


@dataclass(frozen=True)
class Line:
    text: str


@dataclass(frozen=True)
class Table:
    """Rows of cells. ``align`` has one ``l`` or ``r`` per column. When trimmed, rows are cut
    from the end and the note names ``what`` was left out and ``hint`` says how to see it."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str
    what: str = "rows"
    hint: str = ""
    trim: bool = True
    title: str | None = None

    def head(self, n: int) -> "Table":
        return replace(self, rows=self.rows[:n])


@dataclass(frozen=True)
class Code:
    """Verbatim lines (CSV, console output); ``header`` lines are never trimmed."""

    lines: tuple[str, ...]
    lang: str = ""
    header: tuple[str, ...] = ()
    what: str = "rows"
    hint: str = ""
    trim: bool = True
    title: str | None = None

    @property
    def rows(self) -> tuple[str, ...]:
        return self.lines

    def head(self, n: int) -> "Code":
        return replace(self, lines=self.lines[:n])


Block = Heading | Line | Table | Code


@dataclass(frozen=True)
class Doc:
    blocks: tuple[Block, ...] = field(default=())

    def trimmable(self) -> list[int]:
        return [i for i, b in enumerate(self.blocks) if isinstance(b, (Table, Code)) and b.trim and b.rows]
