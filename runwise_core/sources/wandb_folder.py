"""The W&B source: finds run folders under ``wandb/`` and reads them, modern or legacy.

Run folders are named ``run-<YYYYMMDD_HHMMSS>-<id>`` (online, and every legacy run) or
``offline-run-<YYYYMMDD_HHMMSS>-<id>``. A folder with ``run-<id>.wandb`` is read by the binary
decoder; one with ``wandb-history.jsonl`` or ``wandb-metadata.json`` (and no binary log) by
the legacy decoder. Folders sharing an id are one resumed run (the catalog merges the refs).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from ..errors import UnreadableLog
from ..model import Run
from . import wandb_binary, wandb_legacy
from .base import RunRef
from .wandb_files import inside_run_folder
from .wandb_segment import Segment, merge

NAME = "wandb"
RUN_DIR = re.compile(r"^(?:offline-)?run-(\d{8}_\d{6})-([A-Za-z0-9_-]+)$")


def binary_log(folder: Path, run_id: str) -> Path | None:
    """The folder's binary log: ``run-<id>.wandb``, else any single ``*.wandb`` file."""
    named = folder / f"run-{run_id}.wandb"
    if named.is_file() and inside_run_folder(named):
        return named
    try:
        logs = sorted(p for p in folder.iterdir() if p.suffix == ".wandb" and p.is_file() and inside_run_folder(p))
    except OSError:
        return None
    return logs[0] if logs else None


def is_legacy(folder: Path) -> bool:
    return any(wandb_legacy.legacy_file(folder, n).exists() for n in (wandb_legacy.HISTORY, "wandb-metadata.json"))


def folder_time(stamp: str) -> float:
    """The local time a run folder's name carries (when ``wandb.init`` created it)."""
    try:
        return time.mktime(time.strptime(stamp, "%Y%m%d_%H%M%S"))
    except (ValueError, OverflowError):
        return 0.0


class WandbFolderSource:
    """Local W&B run folders (``Run.source`` is ``wandb`` or ``wandb-legacy``)."""

    name = NAME

    def scan(self, folder: Path, files: list[str], subdirs: list[str]) -> list[RunRef]:
        refs: list[RunRef] = []
        for sub in list(subdirs):
            match = RUN_DIR.match(sub)
            if not match:
                continue
            path = folder / sub
            if path.is_symlink():
                continue  # wandb/latest-run and friends point at folders found anyway
            stamp, run_id = match.groups()
            if binary_log(path, run_id) is None and not is_legacy(path):
                continue
            subdirs.remove(sub)  # a run folder holds no further runs
            refs.append(RunRef(NAME, run_id, (path,), folder_time(stamp)))
        return refs

    def load(self, ref: RunRef) -> Run:
        segments: list[Segment] = []
        failures: list[str] = []
        for path in ref.paths:
            try:
                segments.append(self._segment(path, ref.id))
            except UnreadableLog as e:
                failures.append(str(e))
        if not segments:
            raise UnreadableLog("; ".join(failures) or f"{ref.id}: no readable run folder")
        run = merge(segments)
        run.read_notes.extend(f"segment skipped: {f}" for f in failures)
        return run

    @staticmethod
    def _segment(path: Path, run_id: str) -> Segment:
        log = binary_log(path, run_id)
        if log is not None:
            seg = wandb_binary.read_segment(path, log, run_id)
        else:
            seg = wandb_legacy.read_segment(path, run_id)
        match = RUN_DIR.match(path.name)
        if match:
            seg.folder_time = folder_time(match.group(1)) or None
        return seg


SOURCE = WandbFolderSource()


def folder_run_id(path: Path) -> str | None:
    """The run id a W&B run folder's name carries, or None for other folders."""
    match = RUN_DIR.match(os.path.basename(os.path.normpath(path)))
    return match.group(2) if match else None
