"""A run read again and again while wandb writes it: every read is a consistent prefix."""

from __future__ import annotations

import json
import time

import numpy as np

from runwise_core.catalog import Catalog
from runwise_core.errors import UnreadableLog
from runwise_core.model import RunState
from wandb_runs import start_run


def test_growing_run_reads_as_consistent_prefixes_then_the_truth(tmp_path):
    proc = start_run(tmp_path, "live")
    reads = []
    early_refusals: list[str] = []
    try:
        deadline = time.time() + 90
        while proc.poll() is None and time.time() < deadline:
            cat = Catalog([tmp_path])
            refs = cat.refs()
            if refs:
                try:
                    reads.append(cat.load(refs[0]))
                except UnreadableLog as err:
                    # Only a log wandb has created but not yet given its 7-byte header may
                    # refuse (seen on a loaded machine); anything else is a failure.
                    assert "too short for a W&B log header" in str(err), err
                    early_refusals.append(str(err))
            time.sleep(0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.wait(timeout=30) == 0
    truth = json.loads((tmp_path / "truth-live.json").read_text())
    losses = [row["loss"] for row in truth["rows"]]
    growing = [r for r in reads if r.rows > 0]
    assert len(early_refusals) < len(reads), "reads refused all along"
    assert growing, "no read saw any row while the run was written"
    running_seen = False
    for run in growing:
        n = run.rows
        loss = run.metrics["loss"]
        assert loss.steps.tolist() == list(range(n))
        assert np.array_equal(loss.values, np.array(losses[:n]))
        if not run.exited:
            running_seen = running_seen or run.state() is RunState.RUNNING
    assert running_seen
    final = Catalog([tmp_path]).runs()[0]
    assert final.state() is RunState.FINISHED and final.rows == 2000 and final.read_notes == []
    assert final.metrics["loss"].values.tolist() == losses
    assert final.total_steps == 2000
