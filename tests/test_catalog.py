"""The catalog: discovery across sources, symlinks, unreadable runs, the bounded memo."""

from __future__ import annotations

import json
import os
from pathlib import Path

from runwise_core import catalog as catalog_module
from runwise_core.catalog import Catalog


def write_log(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"step": i, "loss": 1.0 / (i + 1)}) + "\n" for i in range(n)))
    return path


def test_symlinked_log_outside_the_tree_is_not_read(tmp_path):
    outside = write_log(tmp_path / "outside" / "secret.jsonl", 5)
    tree = tmp_path / "tree"
    write_log(tree / "mine.jsonl", 3)
    os.symlink(outside, tree / "link.jsonl")
    os.symlink(tree / "mine.jsonl", tree / "alias.jsonl")  # inside: allowed
    names = sorted(p.name for ref in Catalog([tree], cache=None).refs() for p in ref.paths)
    assert names == ["alias.jsonl", "mine.jsonl"]


def test_load_readable_names_the_runs_it_skips(tmp_path):
    write_log(tmp_path / "good.jsonl", 3)
    bad = tmp_path / "wandb" / "run-20240101_000000-badbad01"
    bad.mkdir(parents=True)
    (bad / "run-badbad01.wandb").write_bytes(b"not a wandb log at all")
    cat = Catalog([tmp_path], cache=None)
    runs, skipped = cat.load_readable(cat.refs())
    assert [r.metrics["loss"].values.tolist() for r in runs] == [[1.0, 0.5, 1.0 / 3]]
    assert len(skipped) == 1 and skipped[0].startswith("badbad01: ") and "not a W&B transaction log" in skipped[0]


def test_memo_keeps_a_bounded_number_of_runs(tmp_path, monkeypatch):
    for i in range(5):
        write_log(tmp_path / f"log{i}.jsonl", 10)
    monkeypatch.setattr(catalog_module, "MEMO_RUNS", 2)
    cat = Catalog([tmp_path], cache=None)
    refs = cat.refs()
    first = cat.load(refs[0])
    for ref in refs[1:]:
        cat.load(ref)
    assert len(cat._memo) == 2
    assert cat.load(refs[0]) is not first  # evicted, read again
    assert cat.load(refs[0]) is cat.load(refs[0])  # and memoised again
