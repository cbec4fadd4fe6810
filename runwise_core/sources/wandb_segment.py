"""One W&B run folder as read, and the merge of a resumed run's folders into one Run.

A resumed run (``wandb.init(id=..., resume=...)``) leaves one folder per session, all with
the same id. Each is read into a :class:`Segment`; :func:`merge` joins them in start order:
metrics in step order, config and summary updated by later segments, and the state facts
(exit, last activity) from the newest segment, because only it says how the run ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Run, Series

CONSOLE_TAIL_LINES = 60


@dataclass
class Segment:
    """What one run folder holds. Times are epoch seconds."""

    folder: Path
    run_id: str
    source: str  # "wandb" or "wandb-legacy"
    name: str | None = None
    project: str | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    notes: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    start_time: float | None = None
    runtime_s: float | None = None
    exit_code: int | None = None
    exited: bool = False
    last_activity: float | None = None
    rows: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Series] = field(default_factory=dict)
    non_scalar: dict[str, str] = field(default_factory=dict)
    timestamps: Series | None = None
    system: dict[str, Series] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)
    read_notes: list[str] = field(default_factory=list)


def merge(segments: list[Segment]) -> Run:
    """One Run from the folders of one run id, oldest first."""
    segments = sorted(segments, key=lambda s: (s.start_time or 0.0, s.folder.name))
    newest = segments[-1]
    first = segments[0]
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    non_scalar: dict[str, str] = {}
    notes: list[str] = []
    console: list[str] = []
    for seg in segments:
        config.update(seg.config)
        summary.update(seg.summary)
        non_scalar.update(seg.non_scalar)
        notes.extend(f"{seg.folder.name}: {n}" for n in seg.read_notes)
        console.extend(seg.console)
    metrics = _merge_series([s.metrics for s in segments])
    system = _merge_series([s.system for s in segments])
    stamps = [s.timestamps for s in segments if s.timestamps is not None]
    timestamps = _concat(stamps) if stamps else None
    last_steps = [m.last_step for m in metrics.values() if len(m)]
    for key in non_scalar.keys() & metrics.keys():
        del non_scalar[key]  # a key with numbers is a metric, even if some rows were not
    run = Run(
        id=newest.run_id,
        name=next((s.name for s in reversed(segments) if s.name), newest.run_id),
        source=newest.source,
        path=str(first.folder),
        project=next((s.project for s in reversed(segments) if s.project), None),
        group=next((s.group for s in reversed(segments) if s.group), None),
        tags=next((s.tags for s in reversed(segments) if s.tags), ()),
        notes=next((s.notes for s in reversed(segments) if s.notes), None),
        config=config,
        start_time=first.start_time,
        runtime_s=newest.runtime_s,
        exit_code=newest.exit_code,
        exited=newest.exited,
        records_exits=True,
        last_activity=max((s.last_activity for s in segments if s.last_activity is not None), default=None),
        last_step=max(last_steps) if last_steps else None,
        rows=sum(s.rows for s in segments),
        total_steps=_total_steps(config),
        summary=summary,
        metrics=metrics,
        non_scalar=non_scalar,
        timestamps=timestamps,
        system=system,
        console_tail=console[-CONSOLE_TAIL_LINES:],
        read_notes=notes if len(segments) > 1 else list(first.read_notes),
        segments=len(segments),
    )
    return run


def _merge_series(parts: list[dict[str, Series]]) -> dict[str, Series]:
    if len(parts) == 1:
        return parts[0]
    keys: dict[str, None] = {}
    for part in parts:
        keys.update(dict.fromkeys(part))
    return {k: _concat([p[k] for p in parts if k in p]) for k in keys}


def _concat(series: list[Series]) -> Series:
    if len(series) == 1:
        return series[0]
    return Series.from_lists(np.concatenate([s.steps for s in series]), np.concatenate([s.values for s in series]))


_TOTAL_KEYS = ("max_steps", "total_steps", "num_steps", "train_steps", "num_train_steps", "max_iters",
               "total_iters", "num_iterations", "iterations", "training_steps", "steps")


def _total_steps(config: dict[str, Any]) -> int | None:
    """The planned number of steps, where the config names it plainly."""
    for key in _TOTAL_KEYS:
        for ck, value in config.items():
            if ck == key or ck.endswith("." + key):
                if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e13:
                    return int(value)
    return None
