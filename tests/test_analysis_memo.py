"""Memoised analysis: reused for the same run object, recomputed for a new one, dropped with it."""

from __future__ import annotations

import gc

import numpy as np

from runwise_core import views
from runwise_core.analysis import memo
from runwise_core.model import Run, Series


def spiky_run(run_id: str = "memo0001") -> Run:
    steps = np.arange(2000, dtype=np.int64)
    loss = 2.0 * np.exp(-steps / 500.0) + 0.3 + 0.01 * np.sin(steps)
    loss[1200] = 9.0
    return Run(id=run_id, name="m", source="wandb", path="/x", exited=True, exit_code=0, last_step=1999,
               rows=2000, metrics={"train/loss": Series(steps, loss)})


def test_same_object_reuses_results_and_a_new_object_recomputes(monkeypatch):
    calls = []
    real = memo.memoized

    run = spiky_run()
    first = views.anomalies_view(run)
    assert [(a.kind, a.step) for a in first.anomalies] == [("spike", 1200)]

    def counting(owner, key, compute):
        return real(owner, key, lambda: calls.append(key) or compute())

    monkeypatch.setattr("runwise_core.views.anomalies.memoized", counting)
    again = views.anomalies_view(run)
    assert again.anomalies == first.anomalies and calls == []  # nothing computed again
    fresh = views.anomalies_view(spiky_run())
    assert fresh.anomalies == first.anomalies and len(calls) == 1  # a new object: computed once


def test_entries_die_with_their_run():
    run = spiky_run("memo0002")
    views.run_view(run)
    owners = {id(run), *(id(s) for s in run.metrics.values())}
    assert owners <= set(memo._entries)
    gc.collect()
    with_run = memo.entries()
    del run
    gc.collect()
    assert memo.entries() <= with_run - len(owners)
    assert all(ref() is not None for ref, _ in memo._entries.values())  # no entry outlives its owner


def test_state_is_never_memoised():
    run = spiky_run("memo0003")
    run.exited = False
    run.last_activity = 1000.0
    assert views.run_view(run, now=1010.0).state.value == "running"
    assert views.run_view(run, now=1000.0 + 3600).state.value == "crashed"
