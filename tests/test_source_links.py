"""Discovery and side-file reads do not follow links to files: a link may lead out of the
folders the user allowed (the catalog already does not enter linked folders)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runwise_core.catalog import Catalog
from runwise_core.sources import hf_trainer, lightning_csv, metric_log, tensorboard

SECRET = "s3cr3t-value"


@pytest.fixture()
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 0.5}) + "\n")
    (outside / "metrics.csv").write_text("epoch,step,loss\n0,1,0.5\n")
    (outside / "hparams.yaml").write_text(f"secret: {SECRET}\n")
    (outside / "all_results.json").write_text(json.dumps({"secret": SECRET}))
    state = {"global_step": 1, "max_steps": 2, "log_history": [{"loss": 0.5, "step": 1}]}
    (outside / "trainer_state.json").write_text(json.dumps(state))
    return root, outside


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.is_dir())


def test_linked_logs_are_not_discovered(dirs: tuple[Path, Path]) -> None:
    root, outside = dirs
    (root / "leak.jsonl").symlink_to(outside / "metrics.jsonl")
    v0 = root / "version_0"
    v0.mkdir()
    (v0 / "metrics.csv").symlink_to(outside / "metrics.csv")
    hf = root / "hf"
    hf.mkdir()
    (hf / "trainer_state.json").symlink_to(outside / "trainer_state.json")
    tb = root / "tb"
    tb.mkdir()
    (tb / "events.out.tfevents.1.host.1.0").symlink_to(outside / "metrics.jsonl")
    for source in (metric_log.SOURCE, lightning_csv.SOURCE, hf_trainer.SOURCE, tensorboard.SOURCE):
        for folder in (root, v0, hf, tb):
            assert source.scan(folder, _files(folder), []) == []
    assert Catalog([root], cache=None).refs() == []


def test_linked_side_files_are_not_read(dirs: tuple[Path, Path]) -> None:
    root, outside = dirs
    v0 = root / "lightning_logs" / "version_0"
    v0.mkdir(parents=True)
    (v0 / "metrics.csv").write_text("epoch,step,loss\n0,1,0.5\n")
    (v0 / "hparams.yaml").symlink_to(outside / "hparams.yaml")
    hf = root / "hf"
    hf.mkdir()
    (hf / "trainer_state.json").write_text((outside / "trainer_state.json").read_text())
    (hf / "all_results.json").symlink_to(outside / "all_results.json")
    runs = Catalog([root], cache=None).runs()
    assert sorted(r.source for r in runs) == ["hf-trainer", "lightning-csv"]
    for run in runs:
        assert SECRET not in json.dumps([run.config, run.summary], default=str)
        assert run.metrics["loss"].values.tolist() == [0.5]


def test_a_path_named_explicitly_may_be_a_link(dirs: tuple[Path, Path]) -> None:
    root, outside = dirs
    link = root / "mine.jsonl"
    os.symlink(outside / "metrics.jsonl", link)
    (run,) = metric_log.load_file(link)  # the front end confines what a user may name
    assert run.metrics["loss"].values.tolist() == [0.5]
