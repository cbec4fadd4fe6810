"""Damaged input never raises from a local reader, except UnreadableLog for a file that cannot
be read at all: arbitrary bytes, arbitrary JSON values, and cuts and flips of valid files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwise_core.errors import UnreadableLog
from runwise_core.sources import hf_trainer, lightning_csv, metric_log, tensorboard

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)


def _load_all(source, folder: Path) -> None:
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    for ref in source.scan(folder, files, []):
        try:
            run = source.load(ref)
        except UnreadableLog as exc:
            assert str(folder) in str(exc)
            continue
        for series in run.metrics.values():
            assert series.steps.dtype.kind == "i" and series.values.dtype.kind == "f"
            assert series.steps.size == 0 or (series.steps[1:] >= series.steps[:-1]).all()


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_in_a_jsonl_log(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "m.jsonl"
    p.write_bytes(b'{"step": 1, "loss": 0.5}\n' + data)
    (run, *_) = metric_log.load_file(p)
    assert run.metrics["loss"].values[0] == 0.5


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(["step", "epoch", "loss", "x"]), json_values, max_size=4),
                     max_size=8))
def test_arbitrary_json_values_in_rows(tmp_path: Path, rows: list[dict]) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    try:
        runs = metric_log.load_file(p)
    except UnreadableLog:
        return
    for run in runs:
        for series in run.metrics.values():
            assert series.steps.dtype.kind == "i"


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_in_a_csv_log_and_a_lightning_csv(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "log.csv"
    p.write_bytes(b"step,loss\n1,0.5\n" + data)
    try:
        metric_log.load_file(p)
    except UnreadableLog:
        pass
    v = tmp_path / "version_0"
    v.mkdir(exist_ok=True)
    (v / "metrics.csv").write_bytes(b"epoch,step,loss\n0,1,0.5\n" + data)
    _load_all(lightning_csv.SOURCE, v)


@FUZZ
@given(data=st.binary(max_size=300), cut=st.integers(0, 400))
def test_arbitrary_and_torn_trainer_states(tmp_path: Path, data: bytes, cut: int) -> None:
    state = {"global_step": 2, "max_steps": 4, "log_history": [{"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 2}]}
    text = json.dumps(state, indent=2, sort_keys=True).encode()
    (tmp_path / "trainer_state.json").write_bytes(text[:cut] + data)
    _load_all(hf_trainer.SOURCE, tmp_path)


@pytest.fixture(scope="module")
def tb_bytes(tmp_path_factory) -> bytes:
    tbx = pytest.importorskip("tensorboardX")
    folder = tmp_path_factory.mktemp("tb")
    w = tbx.SummaryWriter(str(folder))
    for s in range(5):
        w.add_scalar("loss", 1.0 / (s + 1), s)
        w.add_histogram("w", [1.0, 2.0, 3.0], s)
    w.close()
    (path,) = folder.iterdir()
    return path.read_bytes()


@FUZZ
@given(pos=st.integers(0, 10_000), flip=st.integers(1, 255), cut=st.integers(0, 10_000))
def test_flipped_and_cut_event_files(tmp_path: Path, tb_bytes: bytes, pos: int, flip: int, cut: int) -> None:
    data = bytearray(tb_bytes)
    data[pos % len(data)] ^= flip
    (tmp_path / "events.out.tfevents.1.host.1.0").write_bytes(bytes(data[:max(1, cut % (len(data) + 1))]))
    _load_all(tensorboard.SOURCE, tmp_path)


def test_absurdly_deep_json_is_damage_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    p = tmp_path / "m.jsonl"
    p.write_text('{"step": 1, "loss": 0.5}\n{"step": 2, "x": ' + deep + "}\n")
    (run,) = metric_log.load_file(p)
    assert run.metrics["loss"].steps.tolist() == [1]
    assert run.read_notes == ["m.jsonl line 2: invalid JSON (RecursionError); skipped"]
    (tmp_path / "trainer_state.json").write_text('{"global_step": 3, "log_history": [' + deep + "]}")
    _load_all(hf_trainer.SOURCE, tmp_path)
