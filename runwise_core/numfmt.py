"""Numbers as an agent should see them: the shortest form with 4 significant digits.

Shared by analysis messages and every renderer, so a value reads the same everywhere.
"""

from __future__ import annotations

import math


def fmt(x: float | int | None, digits: int = 4) -> str:
    """Shortest text for ``x`` with at most ``digits`` significant digits.

    ``1234567`` -> ``1.235e+06``, ``0.000123456`` -> ``0.0001235``, ``2.0`` -> ``2``,
    NaN -> ``NaN``, infinities -> ``Inf`` / ``-Inf``, ``None`` -> ``-``.
    Never a percent, never 17 digits.
    """
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x).lower()
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        exp_i = int(exp)
        # Keep plain notation where it is not longer (e.g. 12340 rather than 1.234e+04).
        if 0 <= exp_i < 6:
            return f"{round(x):d}" if abs(x) >= 10 ** (digits - 1) else text
        if -5 <= exp_i < 0:
            plain = f"{x:.{digits - 1 - exp_i}f}".rstrip("0").rstrip(".")
            return plain
        return f"{mantissa}e{exp_i}"
    return text


def fmt_int(n: int | None) -> str:
    """An integer with thousands separators (``107,124``), for steps and counts."""
    return "-" if n is None else f"{int(n):,}"


def fmt_duration(seconds: float | None) -> str:
    """``3725`` -> ``1h02m``; ``59`` -> ``59s``; ``None`` -> ``-``."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    s = int(round(max(seconds, 0)))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"
