"""Every metric key of a run (``runwise keys``): what an agent pastes into ``-k``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Run


@dataclass(frozen=True)
class KeyInfo:
    key: str
    count: int
    first_step: int | None
    last_step: int | None
    non_finite: int


@dataclass(frozen=True)
class KeyList:
    """Scalar keys in prefix order, and non-scalar keys with their kind (image, table, ...)."""

    run_id: str
    run_name: str
    keys: tuple[KeyInfo, ...]
    non_scalar: tuple[tuple[str, str], ...]
    rows: int
    #: (rows read, rows logged) when the counts are of a server's sample (W&B cloud).
    sampled: tuple[int, int] | None = None


def keys_view(run: Run, prefix: str | None = None) -> KeyList:
    """All keys of ``run`` (optionally those starting with or containing ``prefix``), in
    full, in prefix order, with point counts and step ranges. Never raises for a run
    without history: an empty list is the answer."""

    def wanted(k: str) -> bool:
        return prefix is None or prefix.lower() in k.lower()

    infos = tuple(
        KeyInfo(
            key=k,
            count=len(s),
            first_step=s.first_step,
            last_step=s.last_step,
            non_finite=int(np.count_nonzero(~np.isfinite(s.values))),
        )
        for k in run.metric_keys()
        if wanted(k)
        for s in (run.metrics[k],)
    )
    non_scalar = tuple(sorted((k, v) for k, v in run.non_scalar.items() if wanted(k)))
    return KeyList(run.id, run.name, infos, non_scalar, run.rows, run.sampled)
