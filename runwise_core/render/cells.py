"""Cell text shared by the layouts: numbers via numfmt, steps, names, states."""

from __future__ import annotations

from ..numfmt import fmt, fmt_int

NAME_WIDTH = 28


def num(x: float | None) -> str:
    return fmt(x)


def step(n: int | None) -> str:
    """A step or count in a table cell: plain digits (``107124``), two tokens where the
    thousands separators of :func:`fmt_int` cost three or four."""
    return "-" if n is None else str(int(n))


def step_text(n: int | None) -> str:
    """A step in prose (headings, notes): with thousands separators (``107,124``)."""
    return fmt_int(n)


def name(text: str, width: int = NAME_WIDTH) -> str:
    """A display name cut to ``width`` characters (with ``…``): ids, not names, are the handles.
    A path-like name keeps its end (the file name), others their start."""
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1):] if "/" in text else text[: width - 1] + "…"


def at(value: float | None, where: int | None) -> str:
    """``3.64@107,100``: a value and the step it was reached at."""
    if value is None:
        return "-"
    return f"{fmt(value)}@{int(where)}" if where is not None else fmt(value)


def pct(p: float | None) -> str:
    """A percent change with sign, 3 significant digits: ``+4.12%``; ``-`` when undefined."""
    if p is None:
        return "-"
    text = fmt(p, 3)
    return f"{'+' if p > 0 else ''}{text}%"


def signed(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{'+' if x > 0 else ''}{fmt(x)}"
