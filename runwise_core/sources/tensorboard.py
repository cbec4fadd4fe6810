"""TensorBoard runs: a folder of ``events.out.tfevents.*`` files (one run per folder).

Every scalar point is read: ``simple_value`` scalars and scalars stored as one-element
tensors (TF2, tensorboardX ``new_style``); see :mod:`.tb_event` and :mod:`.tfrecord` for the
decoding, done by hand with no dependency. Several event files in one folder (a restarted
writer) are one run, read in the order of the timestamps in their names. Tags are kept as
written (``episode/MSE Loss``: slash and space included). Non-scalar tags (images,
histograms, text, ...) are listed by kind; the hparams plugin's own tags are config, not data,
and are skipped. ``hparams.yaml`` beside the events (Lightning's TensorBoardLogger) is the
config, read by :mod:`.yaml_safe`.

Times: event files carry a wall time per event, so ``start_time`` is the first and
``last_activity`` the newest of them (a copied or checked-out folder keeps its honest age);
the file mtime is the fallback for a file with no events. No exit marker exists: state is
running (written in the last few minutes) or unknown.
"""

from __future__ import annotations

import re
import struct
from array import array
from pathlib import Path

import numpy as np

from ..errors import UnreadableLog
from ..model import Run, Series
from .base import RunRef
from .local_run import display_name, exitless_run, flatten, newest_mtime, path_id
from .tb_event import decode_event, simple_scalar
from .tfrecord import read_records
from .yaml_safe import load_yaml_mapping

HPARAMS = "hparams.yaml"
_EVENTS = re.compile(r"events\.out\.tfevents\.(\d+)")
_PLUGIN_KINDS = {"images": "image", "histograms": "histogram", "audio": "audio", "text": "text",
                 "pr_curves": "pr_curve", "mesh": "mesh", "graph": "graph"}
_KEEP_BAD = 5


def event_files(folder: Path, files: list[str]) -> list[Path]:
    """The event files among ``files``, oldest first (by the timestamp in the name)."""
    found = [(int(m.group(1)), name) for name in files if (m := _EVENTS.match(name))]
    return [folder / name for _, name in sorted(found)]


class _Points:
    """Scalar points per tag while streaming, the plugin of each tag, and event times."""

    def __init__(self) -> None:
        self.steps: dict[str, array] = {}
        self.values: dict[str, array] = {}
        self.plugins: dict[str, str] = {}
        self.non_scalar: dict[str, str] = {}
        self.time_steps, self.times = array("q"), array("d")
        self.events = 0

    def add(self, tag: str, step: int, number: float | None, kind: str | None, plugin: str | None) -> None:
        if plugin:
            plugin = self.plugins.setdefault(tag, plugin)
        else:
            plugin = self.plugins.get(tag)
        if plugin == "hparams":
            return  # the hparams plugin's own tags describe the config, not the run
        if number is not None and plugin in (None, "", "scalars"):
            if tag not in self.steps:
                self.steps[tag], self.values[tag] = array("q"), array("d")
            self.steps[tag].append(step)
            self.values[tag].append(number)
        elif tag not in self.non_scalar:
            self.non_scalar[tag] = _PLUGIN_KINDS.get(plugin or "", kind or plugin or "tensor")

    def time(self, step: int, wall_time: float) -> None:
        if wall_time > 0:
            self.time_steps.append(step)
            self.times.append(wall_time)


def _read_file(path: Path, points: _Points, notes: list[str]) -> None:
    """Stream one event file into ``points``; records that do not parse are skipped."""
    tags: dict[bytes, str] = {}
    bad = 0
    for offset, data in read_records(path, notes):
        fast = simple_scalar(data)
        if fast is not None:
            wall, step, raw_tag, number = fast
            tag = tags.get(raw_tag)
            if tag is None:
                tag = tags[raw_tag] = raw_tag.decode("utf-8", "replace")
            points.events += 1
            points.time(step, wall)
            points.add(tag, step, number, None, None)
            continue
        try:
            ev = decode_event(data)
        except (ValueError, IndexError, struct.error) as exc:
            bad += 1
            if bad <= _KEEP_BAD:
                notes.append(f"{path.name}: record at byte {offset} does not parse ({exc}); skipped")
            continue
        points.time(ev.step, ev.wall_time)
        if ev.values is None:
            continue
        points.events += 1
        for v in ev.values:
            points.add(v.tag, ev.step, v.number, v.kind, v.plugin)
    if bad > _KEEP_BAD:
        notes.append(f"{path.name}: {bad - _KEEP_BAD} more records that do not parse skipped")


class TensorBoardSource:
    """The :class:`~runwise_core.sources.base.Source` for TensorBoard event folders."""

    name = "tensorboard"

    def scan(self, folder: Path, files: list[str], subdirs: list[str]) -> list[RunRef]:
        paths = event_files(folder, files)
        if not paths:
            return []
        return [RunRef(self.name, path_id(folder.name, folder, self.name), (folder,),
                       newest_mtime(paths) or 0.0, display_name(folder))]

    def load(self, ref: RunRef) -> Run:
        folder = ref.paths[0]
        try:
            names = sorted(p.name for p in folder.iterdir() if p.is_file())
        except OSError:
            names = []
        paths = event_files(folder, names)
        if not paths:
            raise UnreadableLog(f"{folder} holds no events.out.tfevents.* file (moved or deleted?)")
        run = exitless_run(ref.id, ref.name_hint or display_name(folder), self.name, folder, paths)
        points = _Points()
        for path in paths:
            _read_file(path, points, run.read_notes)
        if len(paths) > 1:
            run.read_notes.append(f"{len(paths)} event files read as one run: {', '.join(p.name for p in paths)}")
        back = []
        for tag, raw in points.steps.items():
            steps = np.frombuffer(raw, np.int64).copy()
            run.metrics[tag] = Series.from_lists(steps, np.frombuffer(points.values[tag], np.float64).copy())
            drops = np.flatnonzero(steps[1:] < steps[:-1])
            if drops.size:
                back.append(f"{tag} (step {steps[drops[0]]} -> {steps[drops[0] + 1]})")
        if back:
            run.read_notes.append("steps go back in " + ", ".join(back[:3]) + (" ..." if len(back) > 3 else "")
                                  + ": a restart from a checkpoint? both stretches kept")
        run.non_scalar = {t: k for t, k in points.non_scalar.items() if t not in run.metrics}
        run.rows = points.events
        run.last_step = max((s.last_step for s in run.metrics.values() if s.last_step is not None), default=None)
        if points.times:
            t = np.frombuffer(points.times, np.float64)
            run.start_time = float(t.min())
            run.last_activity = float(t.max())
            run.runtime_s = float(t.max() - t.min())
            run.timestamps = _last_time_per_step(np.frombuffer(points.time_steps, np.int64), t)
        hp = folder / HPARAMS
        if hp.is_file():
            config, notes = load_yaml_mapping(hp)
            run.config = flatten(config)
            run.read_notes.extend(notes)
        return run


def _last_time_per_step(steps: np.ndarray, times: np.ndarray) -> Series:
    """step -> the newest wall time logged at that step."""
    order = np.lexsort((times, steps))
    s, t = steps[order], times[order]
    last = np.ones(s.size, dtype=bool)
    last[:-1] = s[1:] != s[:-1]
    return Series(s[last].copy(), t[last].copy())


SOURCE = TensorBoardSource()
