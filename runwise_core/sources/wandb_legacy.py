"""Decode a legacy W&B run folder (wandb 0.9 and before): JSON-lines files, no binary log.

``wandb-history.jsonl`` holds one row per ``wandb.log`` call (NaN is the bare token ``NaN``),
``wandb-events.jsonl`` the system metrics, ``wandb-metadata.json`` the run's ``state`` and
``exitcode``. The files lie in the run folder itself or in its ``files/`` subfolder. A
metadata ``state`` of ``running`` is not believed on its own: the state rule judges it by
the newest time inside the logs (a 2019 "running" run is crashed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .columns import ColumnBuilder, flatten
from .history_rows import finite_number, int64
from .wandb_files import read_config_yaml, read_json_object, read_output_log, read_summary_json, regular_file
from .wandb_history import read_history
from .wandb_time import parse_time
from .wandb_segment import CONSOLE_TAIL_LINES, Segment

HISTORY = "wandb-history.jsonl"
EVENTS = "wandb-events.jsonl"


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
    seg.start_time = parse_time(meta.get("startedAt"))
    heartbeat = parse_time(meta.get("heartbeatAt"))
    state = meta.get("state")
    if isinstance(meta.get("exitcode"), int):
        seg.exited, seg.exit_code = True, int(meta["exitcode"])
    elif state == "finished":
        seg.exited, seg.exit_code = True, 0
    elif state in ("failed", "crashed", "killed"):
        seg.exited, seg.exit_code = True, None

    stamps = read_history(legacy_file(folder, HISTORY), seg)
    seg.system = _read_events(legacy_file(folder, EVENTS), seg)
    seg.summary = flatten(read_summary_json(legacy_file(folder, "wandb-summary.json"), seg.read_notes) or {})
    seg.config = read_config_yaml(legacy_file(folder, "config.yaml"), seg.read_notes)
    seg.console = read_output_log(legacy_file(folder, "output.log"), CONSOLE_TAIL_LINES)
    times = [t for t in (heartbeat, stamps, seg.last_activity) if t is not None]
    seg.last_activity = max(times) if times else None
    if seg.runtime_s is None and seg.start_time and seg.last_activity:
        seg.runtime_s = max(0.0, seg.last_activity - seg.start_time)
    return seg


def _read_events(path: Path, seg: Segment) -> dict:
    cols = ColumnBuilder()
    newest: float | None = None
    if not regular_file(path, seg.read_notes):
        return {}
    try:
        f = open(path, "rb")
    except OSError:
        return {}
    with f:
        for raw in f:
            try:
                row = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if not isinstance(row, dict):
                continue
            at = row.get("_runtime")
            if not int64(at):
                continue
            stamp = row.get("_timestamp")
            if finite_number(stamp):
                newest = max(newest or 0.0, float(stamp))
            for key, value in row.items():
                if not key.startswith("_") and finite_number(value):
                    cols.add(key, int(at), float(value))
    if newest is not None:
        seg.last_activity = max(seg.last_activity or 0.0, newest)
    return cols.build()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
