"""Fuzzing the JSON-lines metric log reader against an oracle, and every reader on empty files.

Each generated log is a pristine one whose lines were damaged one by one (NaN/Infinity
tokens, nulls, strings where numbers were, numbers beyond float, invalid JSON, torn lines,
bytes that are not UTF-8, byte-order marks, CRLF, a 10 MB line). The oracle is Python's own
``json`` applied line by line: every number of every object line must be read at its step,
nothing else may appear, and every line that holds no row must be named in a note.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwise_core import views
from runwise_core.cache import RunCache, using
from runwise_core.catalog import Catalog
from runwise_core.errors import RunwiseError, UnreadableLog
from runwise_core.sources import metric_log
from test_fuzz_support import fuzz_settings
from test_fuzz_support import LINE_MUTATIONS, assert_jsonl_read, jsonl_case, write_tree

FUZZ = fuzz_settings(80)
line_kinds = st.lists(st.tuples(st.sampled_from(LINE_MUTATIONS), st.integers(0, 10_000)), min_size=1, max_size=15)


def _read(path: Path, case) -> None:
    try:
        runs = metric_log.load_file(path)
    except UnreadableLog as err:
        # only a file with no row at all may be refused, and the refusal names a damaged line
        assert not case.expected and case.damaged_lines, f"refused a file with rows: {err}"
        assert str(path) in str(err) and "line" in str(err)
        return
    assert len(runs) == 1
    assert_jsonl_read(runs[0], case)


@FUZZ
@given(kinds=line_kinds, cut=st.none() | st.integers(0, 300))
def test_damaged_jsonl_keeps_every_number_and_names_every_skipped_line(tmp_path, kinds, cut):
    case = jsonl_case(kinds, cut)
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(case.data)
    _read(path, case)


@FUZZ
@given(kinds=line_kinds, cut=st.none() | st.integers(0, 300), first=st.integers(0, 2000))
def test_damaged_jsonl_through_the_cache_grown_from_any_prefix(tmp_path, kinds, cut, first):
    """The same oracle through the on-disk cache: a first read of a prefix (cut anywhere, as a
    writer leaves it) fills the cache, the read of the whole file resumes from it."""
    case = jsonl_case(kinds, cut)
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(case.data[:first % (len(case.data) + 1)])
    cache = RunCache(tmp_path / f"cache-{first}-{len(case.data)}")
    with using(cache):
        try:
            metric_log.load_file(path)
        except UnreadableLog:
            pass
        with open(path, "ab") as f:
            f.write(case.data[first % (len(case.data) + 1):])
        _read(path, case)


@pytest.mark.parametrize("kind", [k for k in LINE_MUTATIONS if k != "keep"])
def test_each_line_damage_in_the_middle_of_a_log(tmp_path, kind):
    kinds = [("keep", 0)] * 3 + [(kind, 7)] + [("keep", 0)] * 3
    case = jsonl_case(kinds)
    path = tmp_path / "m.jsonl"
    path.write_bytes(case.data)
    _read(path, case)
    run = metric_log.load_file(path)[0]
    assert run.metrics["loss"].steps.tolist()[:3] == [0, 1, 2]


def test_a_ten_megabyte_line_is_read_and_the_rows_around_it_kept(tmp_path):
    case = jsonl_case([("keep", 0)] * 6, huge_line=True)
    assert len(case.data) > 10 * 1024 * 1024
    path = tmp_path / "big.jsonl"
    path.write_bytes(case.data)
    run = metric_log.load_file(path)[0]
    assert_jsonl_read(run, case)
    assert run.non_scalar == {"note": "string"}


def test_a_ten_megabyte_line_of_garbage_is_one_skipped_line(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"step": 0, "loss": 1.0}\n' + b"\xff" * (10 * 1024 * 1024) + b'\n{"step": 1, "loss": 0.5}\n')
    run = metric_log.load_file(path)[0]
    assert run.metrics["loss"].values.tolist() == [1.0, 0.5]
    assert run.read_notes == ["big.jsonl line 2: not UTF-8 at byte 0; skipped"]


def test_nan_and_infinity_tokens_are_kept_as_logged(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 0, "loss": NaN}\n{"step": 1, "loss": Infinity}\n{"step": 2, "loss": -Infinity}\n'
                    '{"step": 3, "loss": null}\n{"step": 4, "loss": "0.5"}\n{"step": 5, "loss": 0.25}\n')
    run = metric_log.load_file(path)[0]
    s = run.metrics["loss"]
    assert s.steps.tolist() == [0, 1, 2, 5]
    assert str(s.values.tolist()) == "[nan, inf, -inf, 0.25]"
    assert run.read_notes == []


# -- empty files, for every reader ------------------------------------------------------------------

EMPTY_TREES = {
    "wandb": {"wandb/offline-run-20240101_000000-empty1/run-empty1.wandb": b""},
    "wandb-header-only": {"wandb/offline-run-20240101_000000-empty2/run-empty2.wandb": b":W&B\xe1\xbe\x00"},
    "wandb-legacy": {"wandb/run-20240101_000000-empty3/wandb-history.jsonl": b"",
                     "wandb/run-20240101_000000-empty3/wandb-metadata.json": b""},
    "jsonl": {"metrics.jsonl": b""},
    "csv": {"metrics.csv": b""},
    "hf-trainer": {"checkpoint-10/trainer_state.json": b""},
    "lightning-csv": {"lightning_logs/version_0/metrics.csv": b"", "lightning_logs/version_0/hparams.yaml": b""},
    "tensorboard": {"runs/exp/events.out.tfevents.1700000000.host.1.0": b""},
}


@pytest.mark.parametrize("name", sorted(EMPTY_TREES))
def test_empty_files_are_a_run_without_history_or_a_clear_error(tmp_path, name):
    write_tree(tmp_path, EMPTY_TREES[name])
    cat = Catalog([tmp_path])
    for ref in cat.refs():
        try:
            run = cat.load(ref)
        except RunwiseError as err:
            assert "\n" not in str(err) and str(err)
            continue
        assert run.rows == 0 and not run.metrics
        for view in (views.run_view, views.keys_view, views.stats_view, views.live_view):
            try:
                view(run)
            except RunwiseError as err:
                assert str(err)


def test_numbers_beyond_float_in_a_summary_are_no_value(tmp_path):
    """JSON ints have no size limit: a 400-digit one in a trainer state's fields (the run's
    summary) must not break the summary view."""
    import json

    state = {"global_step": 10**400, "max_steps": 2, "best_metric": -10**400,
             "log_history": [{"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 2}]}
    write_tree(tmp_path, {"out/trainer_state.json": json.dumps(state).encode()})
    run = Catalog([tmp_path], cache=None).runs()[0]
    summary = views.run_view(run)
    assert run.metrics["loss"].values.tolist() == [1.0, 0.5]
    assert all(v is None or isinstance(v, float) for v in summary.summary.values())


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.sampled_from([10**400, -10**400]) | st.floats()
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
_entries = st.dictionaries(st.sampled_from(["loss", "eval_loss", "step", "epoch", "learning_rate", "grad_norm", "x"]),
                           _json_values, max_size=5)


@settings(FUZZ, max_examples=80)
@given(history=st.lists(_entries, max_size=6), global_step=_json_values, max_steps=_json_values,
       extra=st.dictionaries(st.sampled_from(["best_metric", "epoch", "num_train_epochs", "stateful_callbacks"]),
                             _json_values, max_size=3))
def test_trainer_states_with_any_json_values_are_read_never_a_crash(tmp_path, history, global_step, max_steps, extra):
    import json

    state = {"global_step": global_step, "max_steps": max_steps, "log_history": history, **extra}
    write_tree(tmp_path / "out", {"trainer_state.json": json.dumps(state).encode()})
    cat = Catalog([tmp_path / "out"], cache=None)
    for ref in cat.refs():
        try:
            run = cat.load(ref)
        except RunwiseError:
            continue
        for view in (views.run_view, views.keys_view, views.stats_view, views.live_view, views.config_view):
            try:
                view(run)
            except RunwiseError:
                pass
