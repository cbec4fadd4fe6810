"""W&B cloud runs as runwise :class:`~runwise_core.model.Run` objects: the mapping, no I/O.

What the W&B server says about a run (``wandb.Api().run(...)``) is first copied into a plain
:class:`CloudRunInfo`, and history rows into a :class:`HistoryBuilder`; :func:`build_run`
turns both into a Run the same way the local W&B reader does: config flattened to dotted
keys without ``_wandb``, the summary kept apart from metrics, non-scalar keys named with
their kind, ``_step`` as the step axis.

State: runwise computes a run's state from exit facts and the newest time (see
:meth:`Run.state`), so the server's state is translated into those facts, and
``Run.state()`` then gives the same names as for local runs:

    server state   exited  exit_code  last_activity              runwise state
    finished       yes     0          heartbeat                  finished
    failed         yes     None       heartbeat                  failed
    killed         yes     None       heartbeat                  failed (stopped by hand or signal)
    crashed        no      None       heartbeat, at most         crashed
                                      fetch time - live window
    preempted      no      None       as crashed                 crashed (it may be resumed)
    running        no      None       heartbeat                  running; crashed once the
    preempting                                                   heartbeat is older than the window
    pending, other no      None       none (records no exits)    unknown

W&B sends no exit code, only the state: a failed run's ``exit_code`` is None ("non-zero,
value unknown"). The server decides "crashed" when heartbeats stop; its verdict is kept even
when the last heartbeat is recent, by dating the last activity just outside the live window
(the real heartbeat is named in ``read_notes``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..model import DEFAULT_LIVE_WINDOW_S, Run, Series
from .columns import ColumnBuilder, flatten, kind_of
from .wandb_segment import _total_steps

SOURCE = "wandb-cloud"
_INTERNAL = frozenset({"_step", "_timestamp", "_runtime", "_wandb"})


@dataclass(frozen=True)
class CloudRunInfo:
    """One run's metadata as the W&B server returned it, already decoded.

    ``history_keys`` is the server's ``historyKeys.keys``: every key ever logged with the
    count of each value type (``{"loss": {"typeCounts": [{"type": "number", "count": 9}]}}``).
    """

    entity: str
    project: str
    id: str
    name: str
    state: str
    created_at: float | None
    heartbeat_at: float | None
    url: str
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    group: str | None = None
    notes: str | None = None
    history_lines: int = 0
    history_keys: dict[str, Any] = field(default_factory=dict)
    last_step: int | None = None

    @property
    def path(self) -> str:
        """``entity/project/id``, the path ``wandb.Api().run`` takes."""
        return f"{self.entity}/{self.project}/{self.id}"

    def marker(self) -> tuple[Any, ...]:
        """What changes whenever the run does: the key of its cached history."""
        return (self.state, self.heartbeat_at, self.history_lines, self.last_step)

    def numeric_counts(self) -> dict[str, int]:
        """Points logged per scalar key (exact, from the server's key index)."""
        out: dict[str, int] = {}
        for key, info in self.history_keys.items():
            if key in _INTERNAL or not isinstance(info, Mapping):
                continue
            for tc in info.get("typeCounts") or ():
                if isinstance(tc, Mapping) and tc.get("type") == "number":
                    out[key] = int(tc.get("count") or 0)
        return out

    def other_kinds(self) -> dict[str, str]:
        """Keys logged only as non-numbers, with a kind name (``table``, ``image``, ``string``)."""
        out: dict[str, str] = {}
        numeric = self.numeric_counts()
        for key, info in self.history_keys.items():
            if key in _INTERNAL or key in numeric or key.startswith("_wandb") or not isinstance(info, Mapping):
                continue
            types = [str(tc.get("type")) for tc in info.get("typeCounts") or () if isinstance(tc, Mapping)]
            if types:
                out[key] = _kind_from_type(types[0])
        return out


def _kind_from_type(name: str) -> str:
    if name in ("string", "boolean"):
        return {"boolean": "bool"}.get(name, name)
    if name in ("map", "object"):
        return "dict"
    return kind_of({"_type": name})


@dataclass(frozen=True)
class StateFacts:
    """The :class:`Run` fields that decide its state, plus a note for ``read_notes``."""

    exited: bool
    exit_code: int | None
    last_activity: float | None
    records_exits: bool
    note: str | None = None


def state_facts(state: str, heartbeat_at: float | None, created_at: float | None, fetched_at: float,
                live_window_s: float = DEFAULT_LIVE_WINDOW_S) -> StateFacts:
    """The exit facts that make :meth:`Run.state` name the server's ``state`` (table above)."""
    state = (state or "").lower()
    seen = heartbeat_at if heartbeat_at is not None else created_at
    if state == "finished":
        return StateFacts(True, 0, seen, True)
    if state in ("failed", "killed"):
        note = "W&B state killed: stopped by hand or by a signal" if state == "killed" else None
        return StateFacts(True, None, seen, True, note)
    if state in ("crashed", "preempted"):
        outside = fetched_at - live_window_s - 1.0
        note = None
        if seen is None or seen > outside:
            shown = "none" if seen is None else datetime.fromtimestamp(seen, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            note = f"W&B state {state}; last heartbeat {shown}"
            seen = outside if seen is None else min(seen, outside)
        elif state == "preempted":
            note = "W&B state preempted: the run may be resumed"
        return StateFacts(False, None, seen, True, note)
    if state in ("running", "preempting"):
        return StateFacts(False, None, seen, True)
    if state == "pending":
        return StateFacts(False, None, None, False, "W&B state pending: the run has not started")
    return StateFacts(False, None, None, False, f"W&B state {state or 'missing'}: not one runwise knows")


@dataclass
class HistoryPart:
    """A run's history as read from the server: what :func:`build_run` needs besides the
    run's metadata, and what the on-disk cache keeps (:mod:`.wandb_cloud_cache`)."""

    metrics: dict[str, Series]
    non_scalar: dict[str, str]
    timestamps: Series | None
    rows: int
    notes: list[str] = field(default_factory=list)
    #: (rows read, rows logged) when the server sent a sample of the history, not every row.
    sampled: tuple[int, int] | None = None


class HistoryBuilder:
    """History rows as the server returns them (dicts with ``_step``) into runwise columns.

    ``None`` values are skipped (an exported parquet file has a column for every key and
    nulls where a row did not log it); NaN and +-Inf are kept. Nested plain dicts become
    dotted keys; media and other non-numbers are named in ``non_scalar``.
    """

    def __init__(self) -> None:
        self.cols = ColumnBuilder()
        self.non_scalar: dict[str, str] = {}
        self.rows = 0
        self._stamp_steps: list[int] = []
        self._stamps: list[float] = []

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.add(row)

    def add(self, row: Mapping[str, Any]) -> None:
        step = _as_int(row.get("_step"))
        if step is None:
            step = self.rows
        self.rows += 1
        stamp = _as_float(row.get("_timestamp"))
        if stamp is not None:
            self._stamp_steps.append(step)
            self._stamps.append(stamp)
        for key, value in row.items():
            if key in _INTERNAL or key.startswith("_wandb"):
                continue
            self._value(key, step, value)

    def _value(self, key: str, step: int, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
            self.cols.add(key, step, float(value))
        elif isinstance(value, Mapping) and "_type" not in value:
            for sub, leaf in flatten(value, key).items():
                self._value(sub, step, leaf)
        else:
            self.non_scalar.setdefault(key, kind_of(value))

    def metrics(self) -> dict[str, Series]:
        return self.cols.build()

    def timestamps(self) -> Series | None:
        return Series.from_lists(self._stamp_steps, self._stamps) if self._stamps else None

    def part(self, notes: Iterable[str] = (), extra: Mapping[str, Series] | None = None,
             sampled: tuple[int, int] | None = None) -> HistoryPart:
        """What was read, plus ``extra`` series fetched one key at a time (they replace the
        same keys from the rows); ``sampled`` as :attr:`HistoryPart.sampled`."""
        metrics = self.metrics()
        if extra:
            metrics.update(extra)
        return HistoryPart(metrics, dict(self.non_scalar), self.timestamps(), self.rows, list(notes), sampled)


def build_run(info: CloudRunInfo, history: HistoryPart | HistoryBuilder, fetched_at: float) -> Run:
    """The Run for ``info`` with its history (the state judged as of ``fetched_at``)."""
    if isinstance(history, HistoryBuilder):
        history = history.part()
    metrics = dict(history.metrics)
    non_scalar = dict(info.other_kinds())
    non_scalar.update(history.non_scalar)
    for key in non_scalar.keys() & metrics.keys():
        del non_scalar[key]  # a key with numbers is a metric, even if some rows were not
    facts = state_facts(info.state, info.heartbeat_at, info.created_at, fetched_at)
    read_notes = list(history.notes)
    if facts.note:
        read_notes.append(facts.note)
    config = {k: v for k, v in flatten(info.config).items() if not k.startswith("_wandb")}
    summary = {k: v for k, v in flatten(info.summary).items() if not k.startswith("_wandb")}
    last_steps = [s.last_step for s in metrics.values() if s.last_step is not None]
    last_step = info.last_step if info.last_step is not None and info.last_step >= 0 else None
    if last_step is None and last_steps:
        last_step = max(last_steps)
    return Run(
        id=info.id,
        name=info.name or info.id,
        source=SOURCE,
        path=info.url,
        project=info.project,
        group=info.group,
        tags=info.tags,
        notes=info.notes,
        config=config,
        start_time=info.created_at,
        runtime_s=_runtime(info),
        exit_code=facts.exit_code,
        exited=facts.exited,
        records_exits=facts.records_exits,
        last_activity=facts.last_activity,
        last_step=last_step,
        rows=info.history_lines or history.rows,
        total_steps=_total_steps(config),
        summary=summary,
        metrics=metrics,
        non_scalar=non_scalar,
        timestamps=history.timestamps,
        read_notes=read_notes,
        sampled=history.sampled,
    )


def _runtime(info: CloudRunInfo) -> float | None:
    runtime = _as_float(info.summary.get("_runtime"))
    if runtime is not None:
        return runtime
    wb = info.summary.get("_wandb")
    wb_runtime = _as_float(wb.get("runtime")) if isinstance(wb, Mapping) else None
    if wb_runtime is not None:
        return wb_runtime
    if info.created_at is not None and info.heartbeat_at is not None:
        return max(0.0, info.heartbeat_at - info.created_at)
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _as_float(value: Any) -> float | None:
    return float(value) if _finite(value) else None


def _as_int(value: Any) -> int | None:
    return int(value) if _finite(value) else None
