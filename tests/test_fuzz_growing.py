"""JSON-lines logs read again and again while a writer appends to them in pieces that end
mid-line, through the on-disk cache (which resumes a grown file where it stopped): every read
is a consistent prefix, and the read after the writer finished is the truth.

(``test_wandb_live.py`` does the same for a real wandb process writing a ``.wandb`` log.)
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from runwise_core.cache import RunCache
from runwise_core.catalog import Catalog
from test_fuzz_support import write_tree

ROWS = 4000


@pytest.mark.parametrize("layout", ["jsonl", "wandb-legacy"])
def test_a_log_appended_in_torn_pieces_reads_as_prefixes_then_the_truth(tmp_path, layout):
    step_key = "_step" if layout == "wandb-legacy" else "step"
    stamp = ', "_timestamp": 1700000000.5' if layout == "wandb-legacy" else ""  # as wandb wrote every row
    lines = [f'{{"{step_key}": {i}, "loss": {1.0 / (i + 1)!r}, "acc": {i / ROWS!r}{stamp}}}\n'.encode()
             for i in range(ROWS)]
    data = b"".join(lines)
    truth = {"loss": np.array([1.0 / (i + 1) for i in range(ROWS)]), "acc": np.array([i / ROWS for i in range(ROWS)])}
    if layout == "wandb-legacy":
        folder = tmp_path / "runs" / "wandb" / "run-20240101_000000-grow1"
        write_tree(folder, {"wandb-metadata.json": b'{"state": "running"}', "wandb-history.jsonl": b""})
        path = folder / "wandb-history.jsonl"
    else:
        path = tmp_path / "runs" / "metrics.jsonl"
        write_tree(path.parent, {"metrics.jsonl": lines[0]})
        data = data[len(lines[0]):]
    cache = RunCache(tmp_path / "cache")
    done = threading.Event()

    def writer() -> None:
        rng = random.Random(7)
        pos = 0
        with open(path, "ab") as f:
            while pos < len(data):
                n = rng.randint(1, 3000)  # pieces that end anywhere, mid-line most of the time
                f.write(data[pos:pos + n])
                f.flush()
                pos += n
                done.wait(0.004)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    reads = 0
    try:
        while not done.is_set():
            runs = Catalog([tmp_path / "runs"], cache=cache).runs()
            if not runs or not runs[0].metrics:
                continue
            run = runs[0]
            for key, series in run.metrics.items():
                n = len(series)
                assert series.steps.tolist() == list(range(n)), key
                assert np.array_equal(series.values, truth[key][:n]), key
            reads += 1
    finally:
        done.set()
        t.join()
    final = Catalog([tmp_path / "runs"], cache=cache).runs()[0]
    assert reads >= 5, reads
    for key, values in truth.items():
        assert np.array_equal(final.metrics[key].values, values) and final.metrics[key].steps.tolist() == list(range(ROWS))
    assert final.read_notes == []


@pytest.mark.parametrize("layout", ["jsonl", "csv", "wandb-legacy"])
def test_a_complete_last_line_without_its_newline_reads_through_a_fresh_cache(tmp_path, layout):
    """The moment between a writer's row and its newline: the cache stores the complete lines,
    then the unterminated last row is added to the same columns."""
    rows = {"jsonl": b'{"step": 0, "loss": 1.0}\n{"step": 1, "loss": 0.5}',
            "csv": b"step,loss\n0,1.0\n1,0.5",
            "wandb-legacy": b'{"_step": 0, "loss": 1.0, "_timestamp": 1700000000.5, "_runtime": 1}\n'
                            b'{"_step": 1, "loss": 0.5, "_timestamp": 1700000001.5, "_runtime": 2}'}[layout]
    name = {"jsonl": "m.jsonl", "csv": "m.csv", "wandb-legacy": "wandb/run-20240101_000000-tail1/wandb-history.jsonl"}
    write_tree(tmp_path / "runs", {name[layout]: rows})
    if layout == "wandb-legacy":
        write_tree(tmp_path / "runs", {"wandb/run-20240101_000000-tail1/wandb-metadata.json": b'{"state": "running"}'})
    for _ in range(2):  # a fresh cache, then the entry it wrote
        run = Catalog([tmp_path / "runs"], cache=RunCache(tmp_path / "cache")).runs()[0]
        assert run.metrics["loss"].values.tolist() == [1.0, 0.5] and run.metrics["loss"].steps.tolist() == [0, 1]
