"""Hugging Face Trainer runs (and TRL's trainers): ``trainer_state.json``.

Layout (``transformers.TrainerState.save_to_json``): one JSON document with ``global_step``,
``max_steps``, ``epoch``, ``num_train_epochs``, ``logging_steps`` ... and ``log_history``, a
list of dicts in the order they were logged:

* train entries ``{"loss", "learning_rate", "grad_norm", "epoch", "step"}`` (TRL adds its own
  keys: ``rewards/...``, ``logps/...``);
* eval entries ``{"eval_loss", "eval_runtime", ..., "epoch", "step"}``;
* ``predict_*`` entries from ``Seq2SeqTrainer.predict``, which carry **no** ``step``: they are
  attached to the step of the entry logged just before them (a predict run after each eval
  measures the model of that eval; attaching all of them to ``global_step`` would stack a
  whole curve on one step), or to ``global_step`` when none precedes, with a note;
* one final summary ``{"train_runtime", "train_loss", "total_flos", ..., "step"}``, which goes
  to ``Run.summary``, not to the metrics: its ``train_loss`` is an average over the whole run,
  not a point on the loss curve. ``all_results.json`` (and ``train_``/``eval_results.json``)
  beside it, written by the example scripts, join the summary too.

``epoch`` is a metric, one point per step (train and eval entries at one step both carry it),
kept as logged otherwise: it goes back to 0 when a streaming run is resumed, and the reader
notes the steps where it does. ``training_args.bin`` is a pickle and is never read; the
config is the state file's own settings (``max_steps``, ``logging_steps``, batch size, ...).
State: finished when ``global_step >= max_steps`` (``reached_total``), else running or
unknown by file time.

Discovery: a folder holding ``trainer_state.json`` is a run. An output folder whose
``checkpoint-N`` subfolders hold one (each a snapshot of the same run) is one run read from
the newest checkpoint, unless the folder has its own final ``trainer_state.json``; the
checkpoint folders are then not walked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import lookup as cache_lookup
from ..errors import UnreadableLog
from ..model import Run, Series
from .base import RunRef
from .local_run import display_name, exitless_run, flatten, newest_mtime, path_id, is_regular, side_file
from .row_table import cell_value

STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
#: Top-level keys that describe the state reached, not the setup: not config.
_STATE_KEYS = frozenset({"log_history", "global_step", "epoch", "best_metric", "best_model_checkpoint",
                         "best_global_step", "total_flos", "num_input_tokens_seen", "is_local_process_zero",
                         "is_world_process_zero", "is_hyper_param_search", "trial_name", "trial_params",
                         "stateful_callbacks"})
_SUMMARY_MARK = "train_runtime"
CACHE_KIND = "hf-trainer-state-1"


def _checkpoints(folder: Path, subdirs: list[str]) -> list[tuple[int, str]]:
    """(N, name) of the ``checkpoint-N`` subfolders that hold a trainer state, oldest first."""
    found = []
    for name in subdirs:
        m = _CHECKPOINT.fullmatch(name)
        if m and side_file(folder / name / STATE, folder / name):
            found.append((int(m.group(1)), name))
    return sorted(found)


def _salvage(text: str, notes: list[str], path: Path) -> dict[str, Any]:
    """The readable start of a damaged state file: every complete ``log_history`` entry."""
    start = text.find('"log_history"')
    bracket = text.find("[", start) if start >= 0 else -1
    if bracket < 0:
        raise UnreadableLog(f"{path} is not valid JSON and has no log_history to salvage")
    decoder = json.JSONDecoder()
    entries: list[Any] = []
    pos = bracket + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            notes.append(f"{STATE} is damaged at byte {pos}; read the {len(entries)} log entries before it")
            break
        entries.append(obj)
    state: dict[str, Any] = {"log_history": entries}
    for key in ("global_step", "max_steps"):  # written before log_history, so often intact
        m = re.search(rf'"{key}"\s*:\s*(\d+)', text)
        if m:
            state[key] = int(m.group(1))
    return state


def read_state(path: Path, notes: list[str]) -> dict[str, Any]:
    """The parsed ``trainer_state.json``; a damaged file gives what can be salvaged."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableLog(f"cannot read {path}: {exc.strerror or exc}") from exc
    text = raw.decode("utf-8", errors="replace")
    try:
        state = json.loads(text)
    except (ValueError, RecursionError):
        return _salvage(text, notes, path)
    if not isinstance(state, dict):
        raise UnreadableLog(f"{path} is a JSON {type(state).__name__}, not a trainer state")
    return state


def _int(value: Any) -> int | None:
    """``value`` as a step: a finite number within int64, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return int(value) if -(2**63) <= value < 2**63 else None


def _last_per_step(series: Series) -> Series:
    """The last logged value at each step (the series is sorted stably by step)."""
    keep = np.ones(series.steps.size, dtype=bool)
    keep[:-1] = series.steps[1:] != series.steps[:-1]
    return Series(series.steps[keep], series.values[keep])


_RESULTS = ("all_results.json", "train_results.json", "eval_results.json")


def _add_results(run: Run, folder: Path) -> None:
    """The example scripts' final ``*_results.json`` into ``run.summary`` (the state file's
    own summary wins a shared key). ``eval_*`` there is the evaluation run after training,
    often of the best checkpoint, so it may differ from the last logged eval point: it stays
    in the summary, apart from the curves."""
    for name in _RESULTS:
        path = folder / name
        if not side_file(path, folder):
            continue
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            run.read_notes.append(f"{name}: not readable JSON; skipped")
            continue
        if isinstance(data, dict):
            for key, value in data.items():
                run.summary.setdefault(str(key), value)


class HfTrainerSource:
    """The :class:`~runwise_core.sources.base.Source` for ``trainer_state.json`` runs."""

    name = "hf-trainer"

    def scan(self, folder: Path, files: list[str], subdirs: list[str]) -> list[RunRef]:
        checkpoints = _checkpoints(folder, subdirs)
        if STATE in files and is_regular(folder / STATE):  # not a named pipe: a read would block
            state_path = folder / STATE
        elif checkpoints:
            state_path = folder / checkpoints[-1][1] / STATE
        else:
            return []
        claimed = {name for _, name in checkpoints}
        subdirs[:] = [d for d in subdirs if d not in claimed]
        return [RunRef(self.name, path_id(folder.name, folder, self.name), (state_path,),
                       newest_mtime([state_path]) or 0.0, display_name(folder))]

    def load(self, ref: RunRef) -> Run:
        state_path = ref.paths[0]
        # the ref names the output folder when its state was taken from a checkpoint inside it
        outer = state_path.parent.parent
        from_checkpoint = (bool(_CHECKPOINT.fullmatch(state_path.parent.name))
                           and ref.id == path_id(outer.name, outer, self.name))
        folder = outer if from_checkpoint else state_path.parent
        run = exitless_run(ref.id, ref.name_hint or display_name(folder), self.name, folder, [state_path])
        parsed = _parse_cached(state_path)
        for name in _PARSED_FIELDS:
            setattr(run, name, getattr(parsed, name))
        if from_checkpoint:
            run.read_notes.append(f"read from {state_path.parent.name}/{STATE}, the newest checkpoint")
        _add_results(run, folder)
        return run


#: The fields of a run that come from the state file alone (and are cached with it).
_PARSED_FIELDS = ("metrics", "non_scalar", "summary", "config", "read_notes", "rows", "total_steps",
                  "reached_total", "last_step")


def _parse(state_path: Path) -> Run:
    """The run as the state file describes it (ids, names and side files come later)."""
    run = Run(id="", name="", source=HfTrainerSource.name, path=str(state_path))
    state = read_state(state_path, run.read_notes)
    global_step = _int(state.get("global_step"))
    max_steps = _int(state.get("max_steps"))
    history = state.get("log_history")
    if not isinstance(history, list):
        run.read_notes.append(f"{STATE} has no log_history list")
        history = []
    _fill(run, history, global_step)
    run.rows = sum(1 for e in history if isinstance(e, dict))
    if max_steps and max_steps > 0:
        run.total_steps = max_steps
        run.reached_total = global_step is not None and global_step >= max_steps
    logged = [s.last_step for s in run.metrics.values() if s.last_step is not None]
    run.last_step = max([*logged, *([global_step] if global_step is not None else [])], default=None)
    run.config = flatten({k: v for k, v in state.items() if k not in _STATE_KEYS})
    for key in ("best_metric", "best_model_checkpoint", "best_global_step", "global_step", "epoch"):
        if state.get(key) is not None:
            run.summary.setdefault(key, state[key])
    return run


def _parse_cached(state_path: Path) -> Run:
    """:func:`_parse` through the on-disk cache, when one is in effect: a state file is
    rewritten whole at each save, so only an unchanged file is taken from the cache (a 57 MB
    state with 100k entries: 3 s to parse, a few hundredths of a second from the cache)."""
    cache, facts, entry, plan = cache_lookup(CACHE_KIND, state_path)
    if entry is not None and plan == "same":
        return _restore(entry.meta, entry.arrays)
    run = _parse(state_path)
    if cache is not None and facts is not None:
        keys = list(run.metrics)
        arrays: dict[str, np.ndarray] = {}
        for i, key in enumerate(keys):
            arrays[f"s{i}"], arrays[f"v{i}"] = run.metrics[key].steps, run.metrics[key].values
        meta = {name: getattr(run, name) for name in _PARSED_FIELDS if name != "metrics"}
        meta["keys"] = keys
        cache.put(CACHE_KIND, state_path, facts, facts.size, meta, arrays)
    return run


def _restore(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Run:
    run = Run(id="", name="", source=HfTrainerSource.name, path="")
    for name in _PARSED_FIELDS:
        if name != "metrics":
            setattr(run, name, meta[name])
    run.metrics = {key: Series(arrays[f"s{i}"].astype(np.int64), arrays[f"v{i}"].astype(np.float64))
                   for i, key in enumerate(meta["keys"])}
    return run


def _fill(run: Run, history: list[Any], global_step: int | None) -> None:
    """Metrics from the log entries; the summary entry to ``run.summary``."""
    columns: dict[str, tuple[list[int], list[float]]] = {}
    stepless = 0
    bad = 0
    previous: int | None = None
    for entry in history:
        if not isinstance(entry, dict):
            bad += 1
            continue
        step = _int(entry.get("step"))
        if step is None:
            stepless += 1
            step = previous if previous is not None else (global_step or 0)
        previous = step
        if _SUMMARY_MARK in entry:
            run.summary.update({k: v for k, v in entry.items() if k != "step"})
            continue
        for key, value in entry.items():
            if key == "step":
                continue
            number, kind = cell_value(value)
            if number is not None:
                col = columns.setdefault(key, ([], []))
                col[0].append(step)
                col[1].append(number)
            elif kind is not None:
                run.non_scalar.setdefault(key, kind)
    run.metrics = {k: Series.from_lists(s, v) for k, (s, v) in columns.items()}
    if "epoch" in run.metrics:  # train and eval entries both carry it: one point per step
        run.metrics["epoch"] = _last_per_step(run.metrics["epoch"])
    for key in list(run.non_scalar):
        if key in run.metrics:
            del run.non_scalar[key]
    if stepless:
        run.read_notes.append(f"{stepless} log entries without a step (predict_*) attached to "
                              "the step of the entry before each")
    if bad:
        run.read_notes.append(f"{bad} log entries that are not objects skipped")
    epoch = run.metrics.get("epoch")
    if epoch is not None and epoch.values.size > 1:
        drops = np.flatnonzero(epoch.values[1:] < epoch.values[:-1]) + 1
        if drops.size:
            where = ", ".join(str(int(epoch.steps[i])) for i in drops[:10])
            run.read_notes.append(f"epoch goes back at step {where} (a resumed run)")


SOURCE = HfTrainerSource()
