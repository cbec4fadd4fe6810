"""Decode a legacy W&B run folder (wandb 0.9 and before): JSON-lines files, no binary log.

``wandb-history.jsonl`` holds one row per ``wandb.log`` call (NaN is the bare token ``NaN``),
``wandb-events.jsonl`` the system metrics, ``wandb-metadata.json`` the run's ``state`` and
``exitcode``. The files lie in the run folder itself or in its ``files/`` subfolder. A
metadata ``state`` of ``running`` is not believed on its own: the state rule judges it by
the newest time inside the logs (a 2019 "running" run is crashed).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import UnreadableLog
from .columns import ColumnBuilder, flatten, kind_of
from .wandb_files import read_config_yaml, read_json_object, read_output_log, read_summary_json
from .wandb_segment import CONSOLE_TAIL_LINES, Segment

HISTORY = "wandb-history.jsonl"
EVENTS = "wandb-events.jsonl"
_INTERNAL = frozenset({"_step", "_timestamp", "_runtime", "_wandb"})


def legacy_file(folder: Path, name: str) -> Path:
    """``folder/name`` or ``folder/files/name``, whichever exists (the first by default)."""
    direct = folder / name
    if direct.exists():
        return direct
    nested = folder / "files" / name
    return nested if nested.exists() else direct


def read_segment(folder: Path, run_id: str) -> Segment:
    """Read one legacy run folder."""
    seg = Segment(folder=folder, run_id=run_id, source="wandb-legacy")
    meta = read_json_object(legacy_file(folder, "wandb-metadata.json"), seg.read_notes) or {}
    seg.name = _str(meta.get("name")) or _str(meta.get("display_name"))
    seg.project = _str(meta.get("project"))
    seg.group = _str(meta.get("group"))
    tags = meta.get("tags")
    seg.tags = tuple(str(t) for t in tags) if isinstance(tags, list) else ()
    seg.notes = _str(meta.get("notes"))
    seg.start_time = _iso(meta.get("startedAt"))
    heartbeat = _iso(meta.get("heartbeatAt"))
    state = meta.get("state")
    if isinstance(meta.get("exitcode"), int):
        seg.exited, seg.exit_code = True, int(meta["exitcode"])
    elif state == "finished":
        seg.exited, seg.exit_code = True, 0
    elif state in ("failed", "crashed", "killed"):
        seg.exited, seg.exit_code = True, None

    stamps = _read_history(legacy_file(folder, HISTORY), seg)
    seg.system = _read_events(legacy_file(folder, EVENTS), seg)
    seg.summary = flatten(read_summary_json(legacy_file(folder, "wandb-summary.json"), seg.read_notes) or {})
    seg.config = read_config_yaml(legacy_file(folder, "config.yaml"), seg.read_notes)
    seg.console = read_output_log(legacy_file(folder, "output.log"), CONSOLE_TAIL_LINES)
    times = [t for t in (heartbeat, stamps, seg.last_activity) if t is not None]
    seg.last_activity = max(times) if times else None
    if seg.runtime_s is None and seg.start_time and seg.last_activity:
        seg.runtime_s = max(0.0, seg.last_activity - seg.start_time)
    return seg


def _read_history(path: Path, seg: Segment) -> float | None:
    """Stream the history rows into the segment; returns the newest ``_timestamp``."""
    cols = ColumnBuilder()
    stamp_steps: list[int] = []
    stamp_values: list[float] = []
    last_runtime: float | None = None
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise UnreadableLog(f"{path}: cannot open ({e.strerror or e})") from e
    with f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError:
                where = "last line is partial" if not raw.endswith(b"\n") else "invalid JSON"
                seg.read_notes.append(f"{path.name} line {lineno:,}: {where}; skipped")
                continue
            if not isinstance(row, dict):
                seg.read_notes.append(f"{path.name} line {lineno:,}: not a JSON object; skipped")
                continue
            step = row.get("_step")
            step = int(step) if _int64(step) else seg.rows
            seg.rows += 1
            stamp = row.get("_timestamp")
            if _finite_number(stamp):
                stamp_steps.append(step)
                stamp_values.append(float(stamp))
            runtime = row.get("_runtime")
            if _finite_number(runtime):
                last_runtime = float(runtime)
            for key, value in row.items():
                if key in _INTERNAL:
                    continue
                if isinstance(value, dict) and "_type" not in value:
                    for sub, leaf in flatten(value, key).items():
                        _add(cols, seg, sub, step, leaf)
                else:
                    _add(cols, seg, key, step, value)
    seg.metrics = cols.build()
    for key in list(seg.non_scalar):
        if key in cols:
            del seg.non_scalar[key]
    seg.runtime_s = last_runtime
    if stamp_values:
        from ..model import Series

        seg.timestamps = Series.from_lists(stamp_steps, stamp_values)
        return max(stamp_values)
    return None


def _add(cols: ColumnBuilder, seg: Segment, key: str, step: int, value: Any) -> None:
    if isinstance(value, float) or (isinstance(value, int) and _finite_number(value)):
        cols.add(key, step, float(value))
    else:
        seg.non_scalar.setdefault(key, kind_of(value))


def _read_events(path: Path, seg: Segment) -> dict:
    cols = ColumnBuilder()
    newest: float | None = None
    try:
        f = open(path, "rb")
    except OSError:
        return {}
    with f:
        for raw in f:
            try:
                row = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(row, dict):
                continue
            at = row.get("_runtime")
            if not _int64(at):
                continue
            stamp = row.get("_timestamp")
            if _finite_number(stamp):
                newest = max(newest or 0.0, float(stamp))
            for key, value in row.items():
                if not key.startswith("_") and _finite_number(value):
                    cols.add(key, int(at), float(value))
    if newest is not None:
        seg.last_activity = max(seg.last_activity or 0.0, newest)
    return cols.build()


def _finite_number(value: Any) -> bool:
    """A finite int or float that fits a float64 (an int of 400 digits does not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _int64(value: Any) -> bool:
    """A finite number whose integer part fits a step (int64)."""
    return _finite_number(value) and -2**63 <= value < 2**63


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _iso(value: Any) -> float | None:
    """An ISO time from wandb metadata as epoch seconds (naive times are UTC there)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()
