"""Which readers exist. Each module named here exposes a module-level ``SOURCE``.

Modules are imported on first use, so a command that needs one format does not pay for the
others' imports.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from .base import Source

SOURCE_MODULES: tuple[str, ...] = ("wandb_folder", "tensorboard", "hf_trainer", "lightning_csv", "metric_log")


@lru_cache(maxsize=1)
def all_sources() -> tuple[Source, ...]:
    """Every registered source, in registration order (W&B first)."""
    return tuple(importlib.import_module(f"{__package__}.{name}").SOURCE for name in SOURCE_MODULES)


def source_named(name: str) -> Source:
    """The source whose ``name`` is ``name`` (as stored in ``RunRef.source``)."""
    for source in all_sources():
        if source.name == name:
            return source
    raise KeyError(name)
