"""Plain text: aligned columns, no colour, readable by a person at a terminal and by a model."""

from __future__ import annotations

from .doc import Code, Doc, Heading, Line, Table

#: One space between columns: columns stay aligned by padding, and a single space merges
#: into the next token, where every wider gap costs a token per cell.
GAP = " "


def table_lines(t: Table, indent: str = "") -> list[str]:
    """Columns padded to their widest cell; trailing spaces stripped."""
    cells = [t.header, *t.rows] if t.header else list(t.rows)
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
            lines.append(b.text)
        elif isinstance(b, Table):
            if b.title:
                lines.append(b.title)
            lines.extend(table_lines(b, "  " if b.title else ""))
        elif isinstance(b, Code):
            if b.title:
                lines.append(b.title)
            lines.extend(b.header)
            lines.extend(b.lines)
    return "\n".join(lines) + "\n"
