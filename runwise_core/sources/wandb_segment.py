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
    folder_time: float | None = None  # the time in the folder's name: when wandb.init ran


def merge(segments: list[Segment]) -> Run:
    """One Run from the folders of one run id, oldest first."""
    segments = sorted(segments, key=lambda s: (s.start_time or 0.0, s.folder.name))
    _align_steps(segments)
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
        notes.extend(f"{seg.folder.name}: {n}" if len(segments) > 1 else n for n in seg.read_notes)
        console.extend(seg.console)
    metrics = _merge_series([s.metrics for s in segments])
    system = _merge_series([s.system for s in segments])
    stamps = [s.timestamps for s in segments if s.timestamps is not None]
    timestamps = _concat(stamps) if stamps else None
    last_steps = [m.last_step for m in metrics.values() if len(m)]
    _fold_media(metrics, non_scalar)
    for key in non_scalar.keys() & metrics.keys():
        del non_scalar[key]  # a key with numbers is a metric, even if some rows were not
    # A killed wandb 0.2x+ process may leave a log with no record at all (its service had
    # not flushed): the folder's name still says when the run started.
    start_time = first.start_time if first.start_time is not None else first.folder_time
    last_activity = max((s.last_activity for s in segments if s.last_activity is not None), default=None)
    if last_activity is None:
        last_activity = newest.start_time if newest.start_time is not None else newest.folder_time
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
        start_time=start_time,
        runtime_s=newest.runtime_s,
        exit_code=newest.exit_code,
        exited=newest.exited,
        records_exits=True,
        last_activity=last_activity,
        last_step=max(last_steps) if last_steps else None,
        rows=sum(s.rows for s in segments),
        total_steps=_total_steps(config),
        summary=summary,
        metrics=metrics,
        non_scalar=non_scalar,
        timestamps=timestamps,
        system=system,
        console_tail=console[-CONSOLE_TAIL_LINES:],
        read_notes=notes,
        segments=len(segments),
    )
    return run


def _fold_media(metrics: dict[str, Series], non_scalar: dict[str, str]) -> None:
    """Drop the fields of media values (``weights.bins``, ``samples.nrows``): the media key
    itself is listed as non-scalar, and its bookkeeping numbers are not metrics."""
    parents = [k for k, kind in non_scalar.items() if kind not in ("string", "list", "null", "bool", "dict")]
    if not parents:
        return
    prefixes = tuple(p + "." for p in parents)
    for table in (metrics, non_scalar):
        for key in [k for k in table if k.startswith(prefixes)]:
            del table[key]


def _align_steps(segments: list[Segment]) -> None:
    """Make a resumed run's steps one increasing axis, in place.

    Online, wandb continues ``_step`` where the run stopped. Offline it cannot ask the server
    and restarts at 0: such a segment is shifted to follow the previous one. A segment that
    starts inside the steps already seen (a run resumed from an earlier checkpoint with
    explicit steps) rewinds: the earlier points from that step on are dropped, as W&B does.
    """
    last: int | None = None
    for i, seg in enumerate(segments):
        first = _first_step(seg)
        if i and first is not None and last is not None:
            if first == 0 and last > 0:
                shift = last + 1
                seg.metrics = {k: Series(v.steps + shift, v.values) for k, v in seg.metrics.items()}
                if seg.timestamps is not None:
                    seg.timestamps = Series(seg.timestamps.steps + shift, seg.timestamps.values)
                seg.read_notes.append(f"step counter restarted at 0 (offline resume); steps shifted by {shift:,}")
                first += shift
            elif first <= last:
                for earlier in segments[:i]:
                    earlier.metrics = {k: _before(v, first) for k, v in earlier.metrics.items()}
                    if earlier.timestamps is not None:
                        earlier.timestamps = _before(earlier.timestamps, first)
                seg.read_notes.append(f"resumed at step {first:,}, before the previous last step {last:,}: "
                                      "the earlier points from there on are replaced")
        seg_last = max((m.last_step for m in seg.metrics.values() if len(m)), default=None)
        if seg_last is not None:
            last = seg_last if last is None else max(last, seg_last)


def _first_step(seg: Segment) -> int | None:
    firsts = [m.first_step for m in seg.metrics.values() if len(m)]
    return min(firsts) if firsts else None


def _before(series: Series, step: int) -> Series:
    keep = series.steps < step
    return Series(series.steps[keep], series.values[keep])


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
