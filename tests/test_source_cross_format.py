"""Runs of different formats side by side: found in one walk, compared key by key.

A TensorBoard run (tensorboardX), a JSONL log and a Lightning CSV log the keys of the
example W&B run ``y46m28q0``; the catalog finds all four under one folder, and a comparison
of the TensorBoard run against the W&B run lines up their common keys at a matched step.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runwise_core.cache import RunCache
from runwise_core.catalog import Catalog
from runwise_core.views.compare import compare_view

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "wandb"
WANDB_RUN = "y46m28q0"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    tbx = pytest.importorskip("tensorboardX")
    found = sorted(EXAMPLES.glob(f"*-{WANDB_RUN}")) if EXAMPLES.exists() else []
    if not found:
        pytest.skip("example W&B runs not present")
    shutil.copytree(found[0], tmp_path / "wandb" / found[0].name)
    w = tbx.SummaryWriter(str(tmp_path / "tb" / "run_a"))
    for step in range(0, 2000, 5):
        w.add_scalar("train/loss", 2.0 - step / 2000, step)
        if step % 100 == 0:
            w.add_scalar("val/loss", 1.0, step)
    w.close()
    log = tmp_path / "scripts" / "log.jsonl"
    log.parent.mkdir()
    log.write_text("".join(json.dumps({"step": s, "train/loss": 0.5}) + "\n" for s in range(0, 2000, 100)))
    pl = tmp_path / "lightning_logs" / "version_0"
    pl.mkdir(parents=True)
    (pl / "metrics.csv").write_text("epoch,step,train/loss\n0,1900,0.25\n")
    return tmp_path


def test_one_walk_finds_every_format(tree: Path) -> None:
    cat = Catalog([tree], cache=RunCache(tree.parent / "cache"))
    by_source = sorted((r.source, cat.load(r).source) for r in cat.refs())
    assert by_source == [("lightning-csv", "lightning-csv"), ("metric-log", "jsonl"),
                         ("tensorboard", "tensorboard"), ("wandb", "wandb")]


def test_a_tensorboard_run_compares_against_a_wandb_run(tree: Path) -> None:
    cat = Catalog([tree], cache=RunCache(tree.parent / "cache"))
    tb = next(cat.load(r) for r in cat.refs() if r.source == "tensorboard")
    wb = cat.load(cat.select(WANDB_RUN))
    cmp = compare_view(tb, wb, step_a=1900, step_b=1900)
    rows = {row.key: row for row in cmp.rows}
    assert set(rows) == {"train/loss", "val/loss"}
    assert rows["val/loss"].a == 1.0 and rows["val/loss"].a_step == 1900 and rows["val/loss"].a_exact
    assert rows["train/loss"].a == pytest.approx(2.0 - 1900 / 2000, rel=1e-6)  # float32 on disk
    assert rows["val/loss"].b == wb.metrics["val/loss"].values[wb.metrics["val/loss"].steps.tolist().index(1900)]
