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
        steps: dict[str, array] = {}
        values: dict[str, array] = {}
        plugins: dict[str, str] = {}
        time_steps, times = array("q"), array("d")
        tags: dict[bytes, str] = {}
        bad: list[str] = []
        n_bad = 0
        events = 0
        for path in paths:
            for offset, data in read_records(path, run.read_notes):
                fast = simple_scalar(data)
                if fast is not None:
                    wall, step, raw_tag, number = fast
                    tag = tags.get(raw_tag)
                    if tag is None:
                        tag = tags[raw_tag] = raw_tag.decode("utf-8", "replace")
                    events += 1
                    time_steps.append(step)
                    times.append(wall)
                    plugin = plugins.get(tag)
                    if plugin in (None, "", "scalars"):
                        if tag not in steps:
                            steps[tag], values[tag] = array("q"), array("d")
                        steps[tag].append(step)
                        values[tag].append(number)
                    elif plugin != "hparams":
                        run.non_scalar.setdefault(tag, _PLUGIN_KINDS.get(plugin, plugin))
                    continue
                try:
                    ev = decode_event(data)
                except (ValueError, IndexError, struct_error) as exc:
                    n_bad += 1
                    if len(bad) < _KEEP_BAD:
                        bad.append(f"{path.name}: record at byte {offset} does not parse ({exc}); skipped")
                    continue
                if ev.values is None:
                    if ev.wall_time:
                        time_steps.append(ev.step)
                        times.append(ev.wall_time)
                    continue
                events += 1
                time_steps.append(ev.step)
                times.append(ev.wall_time)
                for v in ev.values:
                    plugin = plugins.setdefault(v.tag, v.plugin) if v.plugin else plugins.get(v.tag)
                    if plugin == "hparams":
                        continue
                    if v.number is not None and plugin in (None, "", "scalars"):
                        if v.tag not in steps:
                            steps[v.tag], values[v.tag] = array("q"), array("d")
                        steps[v.tag].append(ev.step)
                        values[v.tag].append(v.number)
                    else:
                        run.non_scalar.setdefault(v.tag, _PLUGIN_KINDS.get(plugin or "", v.kind or plugin or "tensor"))
        run.read_notes.extend(bad)
        if n_bad > len(bad):
            run.read_notes.append(f"{n_bad - len(bad)} more records that do not parse skipped")
        if len(paths) > 1:
            run.read_notes.append(f"{len(paths)} event files read as one run: {', '.join(p.name for p in paths)}")
        run.metrics = {tag: Series.from_lists(np.frombuffer(steps[tag], np.int64),
                                              np.frombuffer(values[tag], np.float64).copy())
                       for tag in steps}
        for tag in list(run.non_scalar):
            if tag in run.metrics:
                del run.non_scalar[tag]
        run.rows = events
        run.last_step = max((s.last_step for s in run.metrics.values() if s.last_step is not None), default=None)
        if times:
            t = np.frombuffer(times, np.float64)
            run.start_time = float(t.min())
            run.last_activity = float(t.max())
            run.runtime_s = float(t.max() - t.min())
            run.timestamps = _last_time_per_step(np.frombuffer(time_steps, np.int64), t)
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


from struct import error as struct_error  # noqa: E402  (struct.error, raised on short fields)

SOURCE = TensorBoardSource()
