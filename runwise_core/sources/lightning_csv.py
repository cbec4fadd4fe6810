"""PyTorch Lightning ``CSVLogger`` runs: ``<name>/version_N/metrics.csv`` + ``hparams.yaml``.

Layout (Lightning's ``ExperimentWriter``): one CSV whose header is the union of all keys
logged, one row per ``log_metrics`` call, so rows are sparse (a training-step row leaves the
validation columns empty). Every row has ``step``, the axis; ``epoch`` is a metric like any
other.
``hparams.yaml`` is the config; real ones carry ``!!python/...`` tags, read by
:mod:`.yaml_safe` without evaluating anything.

Each ``version_N`` folder is its own run, a resumed one included (Lightning starts a new
version on resume). When a version starts right after where a sibling version ended, the run
keeps its own id and says so in ``read_notes`` ("continues version_0").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..model import Run
from .base import RunRef
from .line_records import read_table
from .local_run import display_name, exitless_run, flatten, newest_mtime, path_id, is_regular, side_file
from .yaml_safe import load_yaml_mapping

METRICS = "metrics.csv"
HPARAMS = "hparams.yaml"
_VERSION = re.compile(r"version_\d+")


def is_lightning_folder(folder: Path, files: list[str]) -> bool:
    """A CSVLogger version folder: ``metrics.csv`` beside ``hparams.yaml`` or in ``version_N``."""
    return METRICS in files and (HPARAMS in files or bool(_VERSION.fullmatch(folder.name)))


def _edge_steps(csv_path: Path) -> tuple[int, int] | None:
    """(first, last) ``step`` of a metrics.csv from its header, first and last lines only."""
    try:
        with open(csv_path, "rb") as fh:
            header = fh.readline().decode("utf-8", "replace").strip().split(",")
            first = fh.readline().decode("utf-8", "replace").strip().split(",")
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            tail = [ln for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        col = header.index("step")
        return int(float(first[col])), int(float(tail[-1].split(",")[col]))
    except (OSError, ValueError, IndexError):
        return None


def _continues(folder: Path, first: int, second: int | None) -> str | None:
    """The sibling version this one resumes: it ended just before ``first``."""
    if first <= 0:
        return None
    interval = max(1, (second - first) if second is not None else 1)
    best: tuple[int, str] | None = None
    for sib in folder.parent.iterdir() if folder.parent.is_dir() else ():
        if (sib == folder or not _VERSION.fullmatch(sib.name) or sib.is_symlink()
                or not side_file(sib / METRICS, sib)):
            continue
        edges = _edge_steps(sib / METRICS)
        if edges is None:
            continue
        last = edges[1]
        if last < first <= last + 2 * interval and (best is None or last > best[0]):
            best = (last, sib.name)
    return None if best is None else f"{folder.name} continues {best[1]} (which ends at step {best[0]})"


class LightningCsvSource:
    """The :class:`~runwise_core.sources.base.Source` for Lightning CSVLogger folders."""

    name = "lightning-csv"

    def scan(self, folder: Path, files: list[str], subdirs: list[str]) -> list[RunRef]:
        if not is_lightning_folder(folder, files) or not is_regular(folder / METRICS):
            return []  # not a named pipe: a read would block
        csv_path = folder / METRICS
        return [RunRef(source=self.name, id=path_id(folder.name, folder, self.name), paths=(folder,),
                       sort_time=newest_mtime([csv_path]) or 0.0,
                       name_hint=display_name(folder))]

    def load(self, ref: RunRef) -> Run:
        folder = ref.paths[0]
        csv_path, hp_path = folder / METRICS, folder / HPARAMS
        run = exitless_run(ref.id, ref.name_hint or display_name(folder), self.name, folder, [csv_path])
        table, damage = read_table(csv_path, "csv")
        run.read_notes.extend(damage.notes(METRICS))
        if "step" in table:
            steps = table.row_steps("step")
        else:
            steps = np.arange(table.n_rows, dtype=np.int64)
            run.read_notes.append(f"{METRICS} has no step column: steps are row numbers from 0")
        run.metrics = table.series(steps)
        run.metrics.pop("step", None)  # the axis, not a metric
        run.non_scalar = table.non_scalar()
        run.rows = table.n_rows
        if table.n_rows:
            run.last_step = int(steps.max())
            distinct = np.unique(steps)
            note = _continues(folder, int(distinct[0]),
                              int(distinct[1]) if distinct.size > 1 else None)
            if note:
                run.read_notes.append(note)
        if side_file(hp_path, folder):
            config, notes = load_yaml_mapping(hp_path)
            run.config = flatten(config)
            run.read_notes.extend(notes)
        return run


SOURCE = LightningCsvSource()
