"""The Lightning CSVLogger reader on Lightning's layout and on the real metrics.csv files."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import pytest
import yaml

from runwise_core.model import RunState
from runwise_core.sources.lightning_csv import SOURCE, is_lightning_folder
from runwise_core.sources.yaml_safe import load_yaml_mapping

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "slm_lightning_csv" / "lightning_logs"


class ExperimentWriter:
    """Lightning 2.x ``_ExperimentWriter``: rows buffered by ``log_metrics`` and appended by
    ``save``; the header is the sorted union of keys, and the file is rewritten whenever a
    save brings a new key (so early rows get empty cells for later keys)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.path = log_dir / "metrics.csv"
        self.metrics: list[dict] = []
        self.metrics_keys: list[str] = []

    def log_metrics(self, metrics: dict, step: int) -> None:
        self.metrics.append({**metrics, "step": step})

    def save(self) -> None:
        if not self.metrics:
            return
        new_keys = set().union(*self.metrics) - set(self.metrics_keys)
        self.metrics_keys = sorted([*self.metrics_keys, *new_keys])
        exists = self.path.is_file()
        if new_keys and exists:
            with open(self.path, newline="") as fh:
                old = list(csv.DictReader(fh))
            with open(self.path, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=self.metrics_keys)
                w.writeheader()
                w.writerows(old)
        with open(self.path, "a" if exists else "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.metrics_keys)
            if not exists:
                w.writeheader()
            w.writerows(self.metrics)
        self.metrics = []


def save_hparams(log_dir: Path, hparams: dict) -> None:
    """``save_hparams_to_yaml``: plain ``yaml.dump``, which tags Python objects."""
    (log_dir / "hparams.yaml").write_text(yaml.dump(hparams))


def train(log_dir: Path, first_step: int = 0, first_epoch: int = 0, epochs: int = 2) -> None:
    """A fit loop as Lightning logs it: step rows every 10 steps, a val row and an epoch row
    at each epoch end, saved every 30 steps and at the end."""
    w = ExperimentWriter(log_dir)
    step = first_step
    for epoch in range(first_epoch, first_epoch + epochs):
        for _ in range(20):
            step += 1
            if step % 10 == 0:
                w.log_metrics({"train_loss_step": 10.0 / step, "epoch": epoch}, step - 1)
            if step % 30 == 0:
                w.save()
        w.log_metrics({"val_loss": 1.0 / (epoch + 1), "epoch": epoch}, step - 1)
        w.log_metrics({"train_loss_epoch": 2.0 / (epoch + 1), "epoch": epoch}, step - 1)
    w.save()


def scan(folder: Path):
    return SOURCE.scan(folder, sorted(p.name for p in folder.iterdir() if p.is_file()), [])


def load(folder: Path):
    (ref,) = scan(folder)
    return SOURCE.load(ref)


def test_sparse_rows_from_the_experiment_writer(tmp_path: Path) -> None:
    v0 = tmp_path / "lightning_logs" / "version_0"
    train(v0)
    save_hparams(v0, {"lr": 0.001, "loss_fn": math.sqrt, "layers": [2, 3], "net": {"depth": 4}})
    header = (v0 / "metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,step,train_loss_epoch,train_loss_step,val_loss"
    run = load(v0)
    assert run.source == "lightning-csv" and run.records_exits is False
    assert sorted(run.metrics) == ["epoch", "train_loss_epoch", "train_loss_step", "val_loss"]
    assert run.metrics["train_loss_step"].steps.tolist() == [9, 19, 29, 39]
    assert run.metrics["train_loss_step"].values.tolist() == [1.0, 0.5, 10 / 30, 0.25]
    assert run.metrics["val_loss"].steps.tolist() == [19, 39]
    assert run.metrics["val_loss"].values.tolist() == [1.0, 0.5]
    assert run.metrics["epoch"].values.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert run.rows == 8 and run.last_step == 39
    assert run.config == {"lr": 0.001, "loss_fn": "math.sqrt", "layers": [2, 3], "net.depth": 4}
    assert run.read_notes == []
    assert run.state() is RunState.RUNNING
    os.utime(v0 / "metrics.csv", (1_000_000_000, 1_000_000_000))
    assert load(v0).state() is RunState.UNKNOWN


def test_each_version_is_its_own_run_and_a_resume_says_what_it_continues(tmp_path: Path) -> None:
    logs = tmp_path / "lightning_logs"
    train(logs / "version_0", epochs=2)  # steps 9 .. 39
    train(logs / "version_1", first_step=40, first_epoch=2, epochs=2)  # resumed: 49 .. 79
    train(logs / "version_2", epochs=1)  # a fresh run
    runs = {v: load(logs / v) for v in ("version_0", "version_1", "version_2")}
    assert len({r.id for r in runs.values()}) == 3
    assert runs["version_1"].metrics["train_loss_step"].first_step == 49
    assert runs["version_1"].read_notes == ["version_1 continues version_0 (which ends at step 39)"]
    assert runs["version_0"].read_notes == [] and runs["version_2"].read_notes == []
    assert runs["version_1"].name.endswith("/version_1") and "lightning_logs" not in runs["version_1"].name


def test_damaged_rows_are_skipped_with_notes(tmp_path: Path) -> None:
    v = tmp_path / "version_0"
    v.mkdir()
    (v / "metrics.csv").write_bytes(b"epoch,step,train_loss\n0,1,0.5\n0,2,\xff\xfe\n0,3,0.25\n0,4,0.1")
    run = load(v)
    assert run.metrics["train_loss"].steps.tolist() == [1, 3, 4]
    assert run.read_notes == ["metrics.csv line 3: not UTF-8 at byte 4; skipped"]
    (v / "metrics.csv").write_bytes(b"epoch,step,train_loss\n0,1,0.5\n0,2")
    run = load(v)
    assert run.metrics["train_loss"].steps.tolist() == [1]
    assert run.read_notes == ["metrics.csv line 3: partial last line; skipped"]


def test_which_folders_are_lightning_runs(tmp_path: Path) -> None:
    assert is_lightning_folder(tmp_path / "version_3", ["metrics.csv"])
    assert is_lightning_folder(tmp_path / "my_run", ["hparams.yaml", "metrics.csv"])
    assert not is_lightning_folder(tmp_path / "results", ["metrics.csv"])  # a plain CSV log
    assert not is_lightning_folder(tmp_path / "version_3", ["hparams.yaml", "events.out.tfevents.1.h"])


def test_yaml_with_python_tags_is_read_without_evaluating_anything(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    p = tmp_path / "hparams.yaml"
    p.write_text(
        f"cmd: !!python/object/apply:os.system ['touch {marker}']\n"
        "ns: !!python/object:argparse.Namespace {x: 1}\n"
        "pair: !!python/tuple [1, 2]\n"
        "fn: !!python/name:torch.nn.functional.relu ''\n"
        "mod: !!python/module:os ''\n"
        "plain: 3\n")
    data, notes = load_yaml_mapping(p)
    assert not marker.exists()
    assert data == {"cmd": [f"touch {marker}"], "ns": {"x": 1}, "pair": [1, 2],
                    "fn": "torch.nn.functional.relu", "mod": "os", "plain": 3}
    assert notes == []
    p.write_text("a: [1, 2\n")
    assert load_yaml_mapping(p) == ({}, ["hparams.yaml: not valid YAML at line 2; config skipped"])


def _real(version: str):
    folder = REAL / version
    if not folder.exists():
        pytest.skip("shared realdata not present")
    return load(folder)


def test_real_version_0_ten_epochs() -> None:
    run = _real("version_0")
    assert run.rows == 2834
    tl, vl = run.metrics["train_loss_step"], run.metrics["val_loss"]
    assert (tl.first_step, run.last_step) == (49, 140_739)
    assert (round(tl.values[0], 2), round(tl.final, 2)) == (7.63, 3.57)
    assert len(vl) == 10
    assert run.config["num_epochs"] == 10 and run.config["d_model"] == 768
    assert run.read_notes == []


def test_real_version_5_resumes_version_0_and_overfits() -> None:
    run = _real("version_5")
    tl, vl, ep = run.metrics["train_loss_step"], run.metrics["val_loss"], run.metrics["epoch"]
    assert (tl.first_step, run.last_step) == (140_749, 197_035)
    assert (ep.values[0], ep.final) == (10.0, 13.0)
    assert (round(vl.values[0], 3), round(vl.final, 3)) == (3.563, 3.604)
    assert run.config["num_epochs"] == 20
    assert run.read_notes == ["version_5 continues version_0 (which ends at step 140739)"]


def test_real_version_8_interrupted_mid_epoch() -> None:
    run = _real("version_8")
    assert run.rows == 1511
    assert sorted(run.metrics) == ["epoch", "train_loss_step", "train_perplexity_step"]
    assert set(run.metrics["epoch"].values.tolist()) == {0.0}
    assert run.state() is not RunState.FINISHED


def test_yaml_values_that_fail_to_construct_skip_the_config_with_a_note(tmp_path: Path) -> None:
    p = tmp_path / "hparams.yaml"
    p.write_text("when: 2020-13-45\n")
    assert load_yaml_mapping(p) == ({}, ["hparams.yaml: unreadable YAML value (ValueError); config skipped"])
    p.write_text("- 1\n- 2\n")
    assert load_yaml_mapping(p) == ({}, ["hparams.yaml: a YAML list, not a mapping; config skipped"])
