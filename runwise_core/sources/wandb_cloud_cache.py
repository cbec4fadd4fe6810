"""Cloud run histories on disk, so a new process (the next ``runwise`` command) reuses them.

Stored in the on-disk cache local logs use (:class:`runwise_core.cache.RunCache`: its folder,
its checked binary format, ``RUNWISE_NO_CACHE``), under an entry named after the server, the
run's path and what was read (sample size and keys, or the exact scan). An entry is used only
while the run's *marker* is unchanged: its state, heartbeat, history length and last step, as
the server gives them with the run's metadata, which every load asks for anyway. So a
finished run's history is fetched once; a running one's again whenever it logged.

Only the history is kept; metadata and state are always the server's current ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import FileFacts, RunCache
from ..model import Series
from .wandb_cloud import CloudRunInfo, HistoryPart

KIND = "wandb-cloud-history"
#: Cache entries carry file facts; a server's history has none, so these stand in.
_NO_FILE = FileFacts(0, 0, 0, 0)


def entry_name(base_url: str, info: CloudRunInfo, exact: bool, samples: int, keys: Sequence[str]) -> Path:
    """The pseudo path naming one read of one run (the cache hashes it into a file name)."""
    what = "exact" if exact else f"samples-{samples}"
    if keys:
        what += "-keys-" + hashlib.sha256("\0".join(keys).encode()).hexdigest()[:16]
    server = hashlib.sha256(base_url.encode()).hexdigest()[:16]
    return Path("/wandb-cloud") / server / info.entity / info.project / info.id / what


def _marker(info: CloudRunInfo) -> list[Any]:
    return list(info.marker())


def load_part(cache: RunCache, name: Path, info: CloudRunInfo) -> HistoryPart | None:
    """The cached history for ``name`` if it was read at the run's current marker."""
    entry = cache.get(KIND, name)
    if entry is None or entry.meta.get("marker") != _marker(info):
        return None
    try:
        meta = entry.meta
        metrics = {key: Series(entry.arrays[f"s{i}"], entry.arrays[f"v{i}"]) for i, key in enumerate(meta["keys"])}
        stamps = Series(entry.arrays["ts"], entry.arrays["tv"]) if meta["timestamps"] else None
        sampled = meta["sampled"]
        return HistoryPart(metrics, dict(meta["non_scalar"]), stamps, int(meta["rows"]), list(meta["notes"]),
                           None if sampled is None else (int(sampled[0]), int(sampled[1])))
    except (KeyError, TypeError, ValueError):
        return None  # an entry of another shape (an older runwise): read afresh


def save_part(cache: RunCache, name: Path, info: CloudRunInfo, part: HistoryPart) -> None:
    """Store ``part`` for ``name`` at the run's current marker (failures are the cache's notes)."""
    arrays: dict[str, np.ndarray] = {}
    keys = list(part.metrics)
    for i, key in enumerate(keys):
        arrays[f"s{i}"] = part.metrics[key].steps
        arrays[f"v{i}"] = part.metrics[key].values
    if part.timestamps is not None:
        arrays["ts"], arrays["tv"] = part.timestamps.steps, part.timestamps.values
    meta = {"marker": _marker(info), "keys": keys, "non_scalar": part.non_scalar, "rows": part.rows,
            "notes": part.notes, "timestamps": part.timestamps is not None,
            "sampled": None if part.sampled is None else list(part.sampled)}
    cache.put(KIND, name, _NO_FILE, 0, meta, arrays)
