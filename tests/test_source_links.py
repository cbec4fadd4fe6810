"""Links and the local readers. The catalog hands a linked file to ``scan`` only when it
resolves inside the walked tree; files a reader looks up by name itself (``hparams.yaml``,
``*_results.json``, event files listed at load, a checkpoint's state) are read through a link
only when it stays inside the run's own folder, since nobody vetted them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runwise_core.catalog import Catalog
from runwise_core.sources import metric_log

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


def test_logs_linked_from_outside_the_tree_are_not_discovered(dirs: tuple[Path, Path]) -> None:
    root, outside = dirs
    (root / "leak.jsonl").symlink_to(outside / "metrics.jsonl")
    v0 = root / "version_0"
    v0.mkdir()
    (v0 / "metrics.csv").symlink_to(outside / "metrics.csv")
    hf = root / "hf"
    hf.mkdir()
    (hf / "trainer_state.json").symlink_to(outside / "trainer_state.json")
    assert Catalog([root], cache=None).refs() == []


def test_a_log_linked_inside_the_tree_is_discovered(dirs: tuple[Path, Path]) -> None:
    root, _ = dirs
    (root / "a").mkdir()
    (root / "a" / "log.jsonl").write_text(json.dumps({"step": 1, "loss": 0.5}) + "\n")
    (root / "alias.jsonl").symlink_to(root / "a" / "log.jsonl")
    names = sorted(p.name for r in Catalog([root], cache=None).refs() for p in r.paths)
    assert names == ["alias.jsonl", "log.jsonl"]


def test_side_files_linked_out_of_the_run_folder_are_not_read(dirs: tuple[Path, Path]) -> None:
    root, outside = dirs
    v0 = root / "lightning_logs" / "version_0"
    v0.mkdir(parents=True)
    (v0 / "metrics.csv").write_text("epoch,step,loss\n0,1,0.5\n")
    (v0 / "hparams.yaml").symlink_to(outside / "hparams.yaml")
    hf = root / "hf"
    (hf / "checkpoint-1").mkdir(parents=True)
    (hf / "checkpoint-1" / "trainer_state.json").symlink_to(outside / "trainer_state.json")
    own = root / "own"
    own.mkdir()
    (own / "trainer_state.json").write_text((outside / "trainer_state.json").read_text())
    (own / "all_results.json").symlink_to(outside / "all_results.json")
    runs = Catalog([root], cache=None).runs()
    assert sorted(r.source for r in runs) == ["hf-trainer", "lightning-csv"]  # not the linked checkpoint
    for run in runs:
        assert SECRET not in json.dumps([run.config, run.summary], default=str)
        assert run.metrics["loss"].values.tolist() == [0.5]


def test_event_files_linked_out_of_the_run_folder_are_not_read(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    tbx = pytest.importorskip("tensorboardX")
    root, outside = dirs
    w = tbx.SummaryWriter(str(outside / "tb"))
    w.add_scalar("secret_loss", 1.0, 1)
    w.close()
    (outside_event,) = (outside / "tb").iterdir()
    run_dir = root / "tb"
    w = tbx.SummaryWriter(str(run_dir))
    w.add_scalar("loss", 0.5, 1)
    w.close()
    (run_dir / "events.out.tfevents.9999999999.x.1.0").symlink_to(outside_event)
    (run,) = Catalog([root], cache=None).runs()
    assert list(run.metrics) == ["loss"]


def test_a_path_named_explicitly_may_be_a_link(dirs: tuple[Path, Path]) -> None:
    root, outside = dirs
    link = root / "mine.jsonl"
    os.symlink(outside / "metrics.jsonl", link)
    (run,) = metric_log.load_file(link)  # the front end confines what a user may name
    assert run.metrics["loss"].values.tolist() == [0.5]
