"""Picking one run from a list by what a person or a model typed: the rules every catalog
shares, so a local folder and a W&B project answer ``abc1``, ``my-run`` or a typo alike.

Order: the exact id, a unique id prefix, the exact display name, the display name ignoring
case. Ambiguity is an error that lists the candidates; no match is an error that names the
closest ids and names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .errors import RunNotFound, closest
from .sources.base import RunRef


def match_run(refs: Sequence[RunRef], selector: str, name_of: Callable[[RunRef], str]) -> RunRef | None:
    """The one ref ``selector`` names, None when none does; raises :class:`RunNotFound` when
    it names several."""
    exact = [r for r in refs if r.id == selector]
    if len(exact) == 1:
        return exact[0]
    prefixed = [r for r in refs if r.id.startswith(selector)]
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:
        raise RunNotFound(f"'{selector}' matches {len(prefixed)} runs: "
                          f"{', '.join(r.id for r in prefixed[:10])}; give more of the id")
    named = [r for r in refs if name_of(r) == selector] or \
            [r for r in refs if name_of(r).lower() == selector.lower()]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise RunNotFound(f"{len(named)} runs are named '{selector}': "
                          f"{', '.join(r.id for r in named[:10])}; use an id")
    return None


def no_such_run(selector: str, refs: Sequence[RunRef], name_of: Callable[[RunRef], str],
                where: str = "", see: str = "runwise list") -> RunNotFound:
    """The error for a selector that names no run: the closest ids and names, then the runs."""
    hints = closest(selector, [r.id for r in refs] + [name_of(r) for r in refs])
    listed = ", ".join(r.id for r in refs[:10]) + (" ..." if len(refs) > 10 else "")
    hint = f"closest: {', '.join(hints)}; " if hints else ""
    return RunNotFound(f"no run '{selector}'{where}. {hint}runs: {listed or 'none'} (see `{see}`)")
