"""A run's configuration (``runwise config``): the hyperparameters, flattened and sorted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Run


@dataclass(frozen=True)
class ConfigView:
    run_id: str
    run_name: str
    items: tuple[tuple[str, Any], ...]
    filter: str | None
    hidden_internal: int  # wandb's own ``_wandb.*`` entries, left out


def config_view(run: Run, filter: str | None = None) -> ConfigView:
    """The run's config as (dotted key, value) in key order, without wandb's bookkeeping;
    ``filter`` keeps keys containing the text (case-insensitive)."""
    internal = [k for k in run.config if k.startswith("_wandb")]
    items = tuple(
        (k, v)
        for k, v in sorted(run.config.items())
        if not k.startswith("_wandb") and (filter is None or filter.lower() in k.lower())
    )
    return ConfigView(run.id, run.name, items, filter, len(internal))
