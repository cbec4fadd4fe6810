"""Training stability per key (``runwise stability``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.keypick import pick_keys
from ..analysis.stability import Stability, stability_of
from ..model import Run
from ..settings import Settings
from ._common import require_history, resolve_keys, step_slice


@dataclass(frozen=True)
class StabilityTable:
    run_id: str
    run_name: str
    rows: tuple[tuple[str, Stability], ...]
    picked: bool
    #: (rows read, rows logged) when the run's history is a server's sample (W&B cloud).
    sampled: tuple[int, int] | None = None


def stability_view(
    run: Run,
    keys: Sequence[str] | None = None,
    window: int | None = None,
    step_range: tuple[int | None, int | None] | None = None,
    settings: Settings | None = None,
) -> StabilityTable:
    """Rolling std, Theil-Sen slope per 1k steps and a stable/moderate/noisy verdict for
    ``keys`` (default: the key metrics)."""
    require_history(run)
    chosen = resolve_keys(run, keys) if keys else pick_keys(run.metrics, settings)
    rows = tuple((k, stability_of(step_slice(run.metrics[k], step_range), window)) for k in chosen)
    return StabilityTable(run.id, run.name, rows, not keys, run.sampled)
