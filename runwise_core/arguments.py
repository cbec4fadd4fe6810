"""The small argument language the CLI and the MCP server share.

Steps as people write them (``50000``, ``50_000``, ``50k``, ``1.5M``), a run at a step
(``abc123@50k``), a step range (``FROM:TO``, either end optional) and a key list
(``loss,val_loss``). One parser here, so ``runwise compare A@50k B@50k`` and the
``compare_runs`` tool read ``@50k`` the same way.
"""

from __future__ import annotations

import re

from .errors import UsageError

_STEP_RE = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")


def parse_step(text: str) -> int:
    """``50000``, ``50_000``, ``50k``, ``1.5M`` -> an integer step."""
    m = _STEP_RE.match(text.replace("_", "").replace(",", ""))
    if not m:
        raise UsageError(f"not a step: {text!r} (use a number like 50000 or 50k)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    value = float(m.group(1)) * scale
    if not value < 2**63:  # (inf for 400 digits) beyond any step a log can hold
        raise UsageError(f"step {text!r} is beyond any step a run can log (2^63)")
    return int(round(value))


def parse_run_at(text: str) -> tuple[str, int | None]:
    """``abc123@50000`` -> (``abc123``, 50000); no ``@`` (or no step after it) -> (text, None)."""
    if "@" in text:
        sel, _, at = text.rpartition("@")
        if sel and _STEP_RE.match(at.replace("_", "").replace(",", "")):
            return sel, parse_step(at)
    return text, None


def parse_range(text: str | None) -> tuple[int | None, int | None] | None:
    """``FROM:TO`` with either end optional -> a step range; None stays None."""
    if text is None:
        return None
    if ":" not in text:
        raise UsageError(f"--steps takes FROM:TO (got {text!r}), e.g. 40000:60000 or :1000")
    lo, _, hi = text.partition(":")
    rng = (parse_step(lo) if lo.strip() else None, parse_step(hi) if hi.strip() else None)
    if rng[0] is not None and rng[1] is not None and rng[0] > rng[1]:
        raise UsageError(f"--steps {text}: FROM is after TO")
    return rng


def split_keys(text: str | None) -> list[str] | None:
    """``"loss, val_loss"`` -> ``["loss", "val_loss"]``; None stays None; empty is an error."""
    if text is None:
        return None
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise UsageError("-k needs at least one key; run `runwise keys` to list them")
    return keys
