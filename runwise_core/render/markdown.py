"""GitHub-flavoured markdown: a heading, pipe tables, fenced code blocks."""

from __future__ import annotations

from .doc import Code, Doc, Heading, Line, Table
from .text import visible


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def to_markdown(doc: Doc) -> str:
    out: list[str] = []
    for b in doc.blocks:
        if isinstance(b, Heading):
            out.append(f"### {b.text}")
            out.append("")
        elif isinstance(b, Line):
            out.append(b.text)
            out.append("")
        elif isinstance(b, Table) and not b.header:
            # A headerless table (findings) reads better as a list than as an empty-headed table.
            if b.title:
                out.append(f"**{b.title}**")
                out.append("")
            out.extend(f"- **{r[0]}** " + " ".join(r[1:]) for r in b.rows)
            out.append("")
        elif isinstance(b, Table):
            if b.title:
                out.append(f"**{b.title}**")
                out.append("")
            ncol = max([len(b.header), *(len(r) for r in b.rows)])
            header = list(b.header) + [""] * (ncol - len(b.header))
            out.append("| " + " | ".join(_cell(h) for h in header) + " |")
            seps = ["---:" if i < len(b.align) and b.align[i] == "r" else "---" for i in range(ncol)]
            out.append("|" + "|".join(seps) + "|")
            for r in b.rows:
                row = list(r) + [""] * (ncol - len(r))
                out.append("| " + " | ".join(_cell(c) for c in row) + " |")
            out.append("")
        elif isinstance(b, Code):
            if b.title:
                out.append(f"**{b.title}**")
                out.append("")
            out.append(f"```{b.lang}")
            out.extend(b.header)
            out.extend(b.lines)
            out.append("```")
            out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(map(visible, out)) + "\n"  # each item is one line: a newline in one came from a log
