"""Plain text: aligned columns, no colour, readable by a person at a terminal and by a model."""

from __future__ import annotations

from .doc import Code, Doc, Heading, Line, Table

#: One space between columns: columns stay aligned by padding, and a single space merges
#: into the next token, where every wider gap costs a token per cell.
GAP = " "

#: Control characters (C0, DEL, C1) as visible escapes: text from a log (a key, a name, a
#: console line) must not forge an output line with a newline, or move, recolour or clear the
#: user's terminal with an escape sequence.
_VISIBLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def visible(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``)."""
    return text.translate(_VISIBLE)


def table_lines(t: Table, indent: str = "") -> list[str]:
    """Columns padded to their widest cell; trailing spaces stripped."""
    cells = [[visible(c) for c in row] for row in ([t.header, *t.rows] if t.header else t.rows)]
    if not cells:
        return []
    ncol = max(len(r) for r in cells)
    widths = [max(len(r[i]) if i < len(r) else 0 for r in cells) for i in range(ncol)]
    out = []
    for r in cells:
        parts = []
        for i in range(ncol):
            cell = r[i] if i < len(r) else ""
            right = i < len(t.align) and t.align[i] == "r"
            parts.append(cell.rjust(widths[i]) if right else cell.ljust(widths[i]))
        out.append((indent + GAP.join(parts)).rstrip())
    return out


def to_text(doc: Doc) -> str:
    lines: list[str] = []
    for b in doc.blocks:
        if isinstance(b, (Heading, Line)):
            lines.append(visible(b.text))
        elif isinstance(b, Table):
            if b.title:
                lines.append(visible(b.title))
            lines.extend(table_lines(b, "  " if b.title else ""))
        elif isinstance(b, Code):
            if b.title:
                lines.append(visible(b.title))
            lines.extend(map(visible, b.header))
            lines.extend(map(visible, b.lines))
    return "\n".join(lines) + "\n"
