"""Choose the few metrics that tell how a run is going, by role, when the user gave no ``-k``.

The order is the order an ML engineer reads a run in: training loss, validation loss,
other losses, accuracy-like metrics (validation first), learning rate, gradient norm,
throughput. Roles come from :mod:`runwise_core.analysis.roles`. A run whose keys have no
known role still gets its densest keys, so the summary never shows an empty section.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Series
from ..settings import Settings
from .roles import Role, is_validation, role_of

#: How many keys of each role a summary shows, in reading order: at most 8 keys, which keeps
#: a run summary near 300 tokens.
ROLE_QUOTA: tuple[tuple[Role, int], ...] = (
    (Role.TRAIN_LOSS, 1),
    (Role.VAL_LOSS, 1),
    (Role.LOSS, 1),
    (Role.ACCURACY, 2),
    (Role.LR, 1),
    (Role.GRAD_NORM, 1),
    (Role.THROUGHPUT, 1),
)
#: Keys shown when no key has a known role.
FALLBACK_KEYS = 5


def _is_internal(key: str) -> bool:
    return key.startswith("_")


def _rank(key: str, series: Series) -> tuple:
    """Preference inside one role: validation first, then more points, then the shorter key."""
    return (0 if is_validation(key) else 1, -len(series), len(key), key)


def _train_rank(key: str, series: Series) -> tuple:
    # For the training loss: densest first ("loss" over "train_loss_epoch").
    return (-len(series), len(key), key)


def pick_keys(metrics: Mapping[str, Series], settings: Settings | None = None) -> list[str]:
    """The key metrics of a run, at most ``sum(ROLE_QUOTA)`` keys, in reading order.

    Keys starting with ``_`` (``_runtime``, ``_timestamp``) and keys without points are
    never picked.
    """
    pool = {k: s for k, s in metrics.items() if not _is_internal(k) and len(s) > 0}
    by_role: dict[Role, list[str]] = {}
    for key in pool:
        by_role.setdefault(role_of(key, settings), []).append(key)
    picked: list[str] = []
    for role, quota in ROLE_QUOTA:
        keys = by_role.get(role, [])
        rank = _train_rank if role is Role.TRAIN_LOSS else _rank
        keys = sorted(keys, key=lambda k: rank(k, pool[k]))
        picked.extend(keys[:quota])
    if not picked:
        picked = sorted(pool, key=lambda k: (-len(pool[k]), len(k), k))[:FALLBACK_KEYS]
    return picked


def primary_key(metrics: Mapping[str, Series], settings: Settings | None = None) -> str | None:
    """The one metric a run list shows: the training loss, else a validation loss, else any
    loss, else an accuracy-like metric, else the densest key; ``None`` without metrics."""
    picked = pick_keys(metrics, settings)
    if not picked:
        return None
    for role in (Role.TRAIN_LOSS, Role.VAL_LOSS, Role.LOSS, Role.ACCURACY):
        for key in picked:
            if role_of(key, settings) is role:
                return key
    return picked[0]
