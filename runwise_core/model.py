"""The run model: what every reader produces and every analysis consumes.

Readers (``runwise_core.sources``) turn files into :class:`Run` objects; analysis and
rendering never look at files. A metric is a :class:`Series` of (step, value) pairs held in
numpy arrays, with NaN and +-Inf kept: they are findings, not noise.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: A run with no exit marker whose newest internal time is younger than this is running.
DEFAULT_LIVE_WINDOW_S = 300.0


class RunState(str, enum.Enum):
    """The states runwise reports. ``unknown`` is for formats that record no exit at all."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CRASHED = "crashed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Series:
    """One metric: steps ascending (ties allowed for merged segments), values as float64.

    ``steps`` is int64 and holds real training steps, never row numbers. ``values`` keeps
    NaN and +-Inf exactly as logged.
    """

    steps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.steps.shape != self.values.shape:
            raise ValueError(f"steps {self.steps.shape} and values {self.values.shape} differ")

    @classmethod
    def from_lists(cls, steps: Any, values: Any) -> "Series":
        """Build a series from any sequences; sorts by step (stable) when needed."""
        s = np.asarray(steps, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        if s.size > 1 and np.any(s[1:] < s[:-1]):
            order = np.argsort(s, kind="stable")
            s, v = s[order], v[order]
        return cls(s, v)

    def __len__(self) -> int:
        return int(self.steps.size)

    @property
    def first_step(self) -> int | None:
        return int(self.steps[0]) if self.steps.size else None

    @property
    def last_step(self) -> int | None:
        return int(self.steps[-1]) if self.steps.size else None

    @property
    def final(self) -> float | None:
        """The last logged value (NaN included: a run that ends in NaN ends in NaN)."""
        return float(self.values[-1]) if self.values.size else None

    def finite(self) -> "Series":
        """The points whose value is finite: the series itself when all are (series are never
        written to, and a copy of 1M points costs more than the test)."""
        mask = np.isfinite(self.values)
        if mask.all():
            return self
        return Series(self.steps[mask], self.values[mask])


@dataclass
class Run:
    """Everything runwise knows about one training run, whatever wrote it.

    ``summary`` is what the logger's own summary says (a script can overwrite it); the last
    logged value of each metric is ``metrics[key].final``, kept apart on purpose.
    The state is not stored: it depends on the clock, see :meth:`state`.
    """

    id: str
    name: str
    source: str  # "wandb", "wandb-legacy", "tensorboard", "hf-trainer", "lightning-csv", "jsonl", "csv"
    path: str  # the run folder or log file (the first segment for a resumed run)
    project: str | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    notes: str | None = None
    config: dict[str, Any] = field(default_factory=dict)  # flattened, dotted keys
    start_time: float | None = None  # epoch seconds
    runtime_s: float | None = None
    exit_code: int | None = None
    exited: bool = False  # an exit marker (exit record, legacy exitcode) exists
    records_exits: bool = True  # the format writes exit markers at all
    reached_total: bool = False  # the log says its planned last step was reached
    last_activity: float | None = None  # newest epoch time inside the log
    last_step: int | None = None
    rows: int = 0  # history rows (one wandb.log call is one row)
    total_steps: int | None = None  # planned total, where the config or log says
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Series] = field(default_factory=dict)  # scalar metrics only
    non_scalar: dict[str, str] = field(default_factory=dict)  # key -> "image", "histogram", ...
    timestamps: Series | None = None  # step -> epoch seconds of that row, where logged
    system: dict[str, Series] = field(default_factory=dict)  # steps = seconds since start
    console_tail: list[str] = field(default_factory=list)
    read_notes: list[str] = field(default_factory=list)  # what was skipped while reading, and where
    segments: int = 1  # folders merged into this run (a resumed run has several)
    sampled: tuple[int, int] | None = None  # (rows read, rows logged) when a server sent a sample of the history

    def state(self, now: float | None = None, live_window_s: float = DEFAULT_LIVE_WINDOW_S) -> RunState:
        """The run's state by runwise's rules, judged by times inside the log.

        finished: exit code 0 (or the planned last step reached). failed: a non-zero exit.
        running: no exit, and the newest time inside the log is within ``live_window_s``.
        crashed: no exit and nothing recent, for formats that write exits; ``unknown`` for
        formats that never write one (they cannot tell a crash from a pause).
        """
        if self.exited:
            return RunState.FINISHED if self.exit_code == 0 else RunState.FAILED
        if self.reached_total:
            return RunState.FINISHED
        now = time.time() if now is None else now
        if self.last_activity is not None and now - self.last_activity <= live_window_s:
            return RunState.RUNNING
        return RunState.CRASHED if self.records_exits else RunState.UNKNOWN

    def metric_keys(self) -> list[str]:
        """Scalar metric keys in prefix order (``train/...`` together, then ``val/...``)."""
        return sorted(self.metrics, key=prefix_sort_key)


def prefix_sort_key(key: str) -> tuple:
    """Sort keys so that keys sharing a prefix (``train/``, ``val.``) stand together."""
    return tuple(part.lower() for part in key.replace(".", "/").split("/"))
