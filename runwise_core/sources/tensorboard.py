"""TensorBoard runs: a folder of ``events.out.tfevents.*`` files (one run per folder).

Every scalar point is read: ``simple_value`` scalars and scalars stored as one-element
tensors (TF2, tensorboardX ``new_style``); see :mod:`.tb_event` and :mod:`.tfrecord` for the
decoding, done by hand with no dependency. Several event files in one folder (a restarted
writer) are one run, read in the order of the timestamps in their names. Tags are kept as
written (``episode/MSE Loss``: slash and space included). Non-scalar tags (images,
histograms, text, ...) are listed by kind; the hparams plugin's own tags are config, not data,
and are skipped, but the hyperparameters of its ``session_start_info`` join the config, after
``hparams.yaml`` beside the events (Lightning's TensorBoardLogger, read by :mod:`.yaml_safe`).

Cache: with the catalog's on-disk cache in effect (:mod:`runwise_core.cache`), each event
file's decoded state is kept, so an unchanged file is not decoded again (a 20 MB file: 2 s
to 0.05 s) and a live one only from the record where the last read ended.

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

from ..cache import lookup as cache_lookup
from ..errors import UnreadableLog
from ..model import Run, Series
from .base import RunRef
from .local_run import display_name, exitless_run, flatten, newest_mtime, path_id, is_regular, side_file
from .tb_event import decode_event, session_hparams, simple_scalar
from .tfrecord import read_records
from .yaml_safe import load_yaml_mapping

HPARAMS = "hparams.yaml"
_EVENTS = re.compile(r"events\.out\.tfevents\.(\d+)")
_PLUGIN_KINDS = {"images": "image", "histograms": "histogram", "audio": "audio", "text": "text",
                 "pr_curves": "pr_curve", "mesh": "mesh", "graph": "graph"}
_KEEP_BAD = 5
CACHE_KIND = "tensorboard-events-2"


def event_files(folder: Path, files: list[str]) -> list[Path]:
    """The event files among ``files``, oldest first (by the timestamp in the name); regular
    files only (a named pipe would block the read)."""
    found = [(int(m.group(1)), name) for name in files if (m := _EVENTS.match(name))]
    return [folder / name for _, name in sorted(found) if is_regular(folder / name)]


class _FileState:
    """What one event file holds, decoded up to ``end_offset`` (a record boundary).

    Numbers are kept per tag whatever the tag's plugin; which tags are scalars is decided
    when the files of a run are merged, because a plugin name comes only with a tag's first
    value. The state round-trips through the on-disk cache (:meth:`state`, :meth:`restore`),
    so an unchanged file is not decoded again and a grown one only from where it ended.
    """

    def __init__(self) -> None:
        self.steps: dict[str, array] = {}
        self.values: dict[str, array] = {}
        self.plugins: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.time_steps, self.times = array("q"), array("d")
        self.events = 0
        self.hparams: dict = {}  # from the hparams plugin's session_start_info
        self.bad: list[str] = []  # notes on records that do not parse (the first few)
        self.n_bad = 0
        self.end_offset = 0

    def add(self, tag: str, step: int, number: float | None, kind: str | None, plugin: str | None,
            content: bytes | None = None) -> None:
        if plugin and tag not in self.plugins:
            self.plugins[tag] = plugin
        if plugin == "hparams" and content:
            try:
                self.hparams.update(session_hparams(content) or {})
            except (ValueError, IndexError, struct.error):
                pass  # undecodable hparams data: the run keeps its points, loses a config
        if number is not None:
            if tag not in self.steps:
                self.steps[tag], self.values[tag] = array("q"), array("d")
            self.steps[tag].append(step)
            self.values[tag].append(number)
        elif tag not in self.kinds:
            self.kinds[tag] = kind or "tensor"

    def time(self, step: int, wall_time: float) -> None:
        if wall_time > 0:
            self.time_steps.append(step)
            self.times.append(wall_time)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        tags = list(self.steps)
        meta = {"tags": tags, "plugins": self.plugins, "kinds": self.kinds, "events": self.events,
                "bad": self.bad, "n_bad": self.n_bad, "hparams": self.hparams}
        arrays = {"time_steps": np.frombuffer(self.time_steps, np.int64),
                  "times": np.frombuffer(self.times, np.float64)}
        for i, tag in enumerate(tags):
            arrays[f"s{i}"] = np.frombuffer(self.steps[tag], np.int64)
            arrays[f"v{i}"] = np.frombuffer(self.values[tag], np.float64)
        return meta, arrays

    @classmethod
    def restore(cls, meta: dict, arrays: dict[str, np.ndarray], end_offset: int) -> "_FileState":
        st = cls()
        for i, tag in enumerate(meta["tags"]):
            st.steps[tag] = array("q", arrays[f"s{i}"].astype(np.int64).tobytes())
            st.values[tag] = array("d", arrays[f"v{i}"].astype(np.float64).tobytes())
        st.plugins, st.kinds = dict(meta["plugins"]), dict(meta["kinds"])
        st.events, st.bad, st.n_bad = int(meta["events"]), list(meta["bad"]), int(meta["n_bad"])
        st.hparams = dict(meta.get("hparams", {}))
        st.time_steps = array("q", arrays["time_steps"].astype(np.int64).tobytes())
        st.times = array("d", arrays["times"].astype(np.float64).tobytes())
        st.end_offset = end_offset
        return st


def _decode_from(path: Path, st: _FileState, notes: list[str]) -> bool:
    """Decode the records of ``path`` after ``st.end_offset`` into ``st``; True if any."""
    tags: dict[bytes, str] = {}
    grew = False
    for offset, data in read_records(path, notes, st.end_offset):
        st.end_offset = offset + 16 + len(data)
        grew = True
        fast = simple_scalar(data)
        if fast is not None:
            wall, step, raw_tag, number = fast
            tag = tags.get(raw_tag)
            if tag is None:
                tag = tags[raw_tag] = raw_tag.decode("utf-8", "replace")
            st.events += 1
            st.time(step, wall)
            st.add(tag, step, number, None, None)
            continue
        try:
            ev = decode_event(data)
        except (ValueError, IndexError, struct.error) as exc:
            st.n_bad += 1
            if len(st.bad) < _KEEP_BAD:
                st.bad.append(f"{path.name}: record at byte {offset} does not parse ({exc}); skipped")
            continue
        st.time(ev.step, ev.wall_time)
        if ev.values is None:
            continue
        st.events += 1
        for v in ev.values:
            st.add(v.tag, ev.step, v.number, v.kind, v.plugin, v.content)
    return grew


def _read_file(path: Path, notes: list[str]) -> _FileState:
    """One event file's state: from the cache when the file is unchanged, the cached state
    plus the new records when it grew (a live run), else decoded from the start. Notes on a
    torn or damaged tail come from reading that tail again, so they are never stale."""
    cache, facts, entry, plan = cache_lookup(CACHE_KIND, path)
    if entry is not None and plan != "stale":
        st = _FileState.restore(entry.meta, entry.arrays, entry.end_offset)
    else:
        st = _FileState()
    grew = _decode_from(path, st, notes)
    if cache is not None and facts is not None and (grew or entry is None or plan == "stale"):
        meta, arrays = st.state()
        cache.put(CACHE_KIND, path, facts, st.end_offset, meta, arrays)
    notes.extend(st.bad)
    if st.n_bad > len(st.bad):
        notes.append(f"{path.name}: {st.n_bad - len(st.bad)} more records that do not parse skipped")
    return st


def _merge(states: list[_FileState], run: Run) -> None:
    """The run's metrics, non-scalar kinds, rows and times from its files, oldest first."""
    plugins: dict[str, str] = {}
    for st in states:
        for tag, name in st.plugins.items():
            plugins.setdefault(tag, name)
    steps: dict[str, list[np.ndarray]] = {}
    values: dict[str, list[np.ndarray]] = {}
    kinds: dict[str, str] = {}
    for st in states:
        for tag in st.steps:
            steps.setdefault(tag, []).append(np.frombuffer(st.steps[tag], np.int64))
            values.setdefault(tag, []).append(np.frombuffer(st.values[tag], np.float64))
        for tag, kind in st.kinds.items():
            kinds.setdefault(tag, kind)
    back = []
    for tag in steps:
        plugin = plugins.get(tag)
        if plugin == "hparams":
            continue  # the hparams plugin's own tags describe the config, not the run
        if plugin not in (None, "", "scalars"):
            kinds.setdefault(tag, _PLUGIN_KINDS.get(plugin, plugin))
            continue
        s, v = np.concatenate(steps[tag]), np.concatenate(values[tag])
        drops = np.flatnonzero(s[1:] < s[:-1])
        if drops.size:
            back.append(f"{tag} (step {s[drops[0]]} -> {s[drops[0] + 1]})")
        run.metrics[tag] = Series.from_lists(s.copy(), v.copy())
    if back:
        run.read_notes.append("steps go back in " + ", ".join(back[:3]) + (" ..." if len(back) > 3 else "")
                              + ": a restart from a checkpoint? both stretches kept")
    run.non_scalar = {t: _PLUGIN_KINDS.get(plugins.get(t) or "", k) for t, k in kinds.items()
                      if t not in run.metrics and plugins.get(t) != "hparams"}
    run.rows = sum(st.events for st in states)
    run.last_step = max((s.last_step for s in run.metrics.values() if s.last_step is not None), default=None)
    times = np.concatenate([np.frombuffer(st.times, np.float64) for st in states])
    if times.size:
        time_steps = np.concatenate([np.frombuffer(st.time_steps, np.int64) for st in states])
        run.start_time = float(times.min())
        run.last_activity = float(times.max())
        run.runtime_s = float(times.max() - times.min())
        run.timestamps = _last_time_per_step(time_steps, times)


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
            names = sorted(p.name for p in folder.iterdir())
        except OSError:
            names = []
        # listed again (a restarted writer adds files); a link only if it stays in this folder
        paths = [p for p in event_files(folder, names) if side_file(p, folder)]
        if not paths:
            raise UnreadableLog(f"{folder} holds no events.out.tfevents.* file (moved or deleted?)")
        run = exitless_run(ref.id, ref.name_hint or display_name(folder), self.name, folder, paths)
        states = [_read_file(path, run.read_notes) for path in paths]
        if len(paths) > 1:
            run.read_notes.append(f"{len(paths)} event files read as one run: {', '.join(p.name for p in paths)}")
        _merge(states, run)
        hp = folder / HPARAMS
        if side_file(hp, folder):
            config, notes = load_yaml_mapping(hp)
            run.config = flatten(config)
            run.read_notes.extend(notes)
        for st in states:  # hparams logged through the plugin (add_hparams, Keras' callback)
            for key, value in flatten(st.hparams).items():
                run.config.setdefault(key, value)
        return run


def _last_time_per_step(steps: np.ndarray, times: np.ndarray) -> Series:
    """step -> the newest wall time logged at that step."""
    order = np.lexsort((times, steps))
    s, t = steps[order], times[order]
    last = np.ones(s.size, dtype=bool)
    last[:-1] = s[1:] != s[:-1]
    return Series(s[last].copy(), t[last].copy())


SOURCE = TensorBoardSource()
