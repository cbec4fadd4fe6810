"""A damaged cache never changes an answer: entries of the on-disk cache cut, flipped, zeroed
or swapped between logs are ignored (and rewritten), so every read equals the uncached one."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwise_core.cache import RunCache
from runwise_core.catalog import Catalog
from test_fuzz_support import fuzz_settings
from test_fuzz_support import write_tree
from wandb_runs import make_run

FUZZ = fuzz_settings(60)


class Material(tuple):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing case
        return "<runs, their uncached reads and a filled cache>"


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz-cache")
    make_run(base / "runs" / "w", "finished")
    rows = "".join(f'{{"_step": {i}, "loss": {1.0 / (i + 1)!r}}}\n' for i in range(300))
    write_tree(base / "runs" / "legacy" / "wandb" / "run-20240101_000000-leg1",
               {"wandb-history.jsonl": rows.encode(), "wandb-metadata.json": b'{"state": "finished"}'})
    write_tree(base / "runs" / "logs", {"m.jsonl": rows.replace('"_step"', '"step"').encode()})
    truth = {r.id: r for r in Catalog([base / "runs"], cache=None).runs()}
    filled = base / "cache"
    Catalog([base / "runs"], cache=RunCache(filled)).runs()
    entries = sorted(p.relative_to(filled) for p in filled.rglob("*.rwc"))
    assert len(entries) >= 2  # the .wandb log and the legacy history (at least)
    return Material((base / "runs", truth, filled, entries))


def _same(run, truth) -> None:
    assert set(run.metrics) == set(truth.metrics)
    for key, s in run.metrics.items():
        assert np.array_equal(s.steps, truth.metrics[key].steps), key
        assert np.array_equal(s.values, truth.metrics[key].values, equal_nan=True), key
    assert run.rows == truth.rows and run.read_notes == truth.read_notes and run.config == truth.config


@FUZZ
@given(which=st.integers(0, 100), how=st.sampled_from(["cut", "flip", "zero", "append", "swap", "empty"]),
       a=st.integers(0, 2**31), b=st.integers(0, 255))
def test_a_damaged_cache_entry_never_changes_a_read(material, tmp_path, which, how, a, b):
    runs, truth, filled, entries = material
    cache_dir = tmp_path / "cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    shutil.copytree(filled, cache_dir)
    entry = cache_dir / entries[which % len(entries)]
    data = bytearray(entry.read_bytes())
    if how == "cut":
        data = data[:a % len(data)]
    elif how == "flip":
        data[a % len(data)] ^= 1 + b % 255
    elif how == "zero":
        at = a % len(data)
        data[at:at + 1 + b] = bytes(len(data[at:at + 1 + b]))
    elif how == "append":
        data += bytes([b]) * (1 + a % 100)
    elif how == "swap":  # another log's entry under this log's name
        data = bytearray((cache_dir / entries[(which + 1) % len(entries)]).read_bytes())
    else:
        data = bytearray()
    entry.write_bytes(bytes(data))
    for run in Catalog([runs], cache=RunCache(cache_dir)).runs():
        _same(run, truth[run.id])
