"""throughput: a substantial drop that stays; not slow starts, eval dips or noise."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def steady(n: int = 10000, seed: int = 0) -> np.ndarray:
    return 12000 * np.exp(0.05 * np.random.default_rng(seed).standard_normal(n))


def drops(key: str, y: np.ndarray) -> list:
    return [a for a in detect_anomalies(run_of({key: Series(np.arange(y.size) * 10, y)})) if a.kind == "throughput"]


def test_drop_that_stays_is_found_at_its_step() -> None:
    y = steady()
    y[6000:] *= 0.4
    found = drops("tokens_per_sec", y)
    assert [(a.metric, a.step) for a in found] == [("tokens_per_sec", 60000)]
    assert found[0].message.startswith(
        "tokens_per_sec dropped from 11991 to 4810 at step 60,000 (0.4011x) and stayed down"
    )


def test_slow_start_and_short_eval_dips_are_not_drops() -> None:
    y = steady(seed=1)
    y[:200] *= 0.2
    for start in (2000, 5000, 9000):
        y[start : start + 50] *= 0.1
    assert drops("samples_per_sec", y) == []


def test_noise_and_speedups_are_not_drops() -> None:
    y = steady(seed=2)
    y[5000:] *= 1.8
    assert drops("it/s", steady(seed=3)) == []
    assert drops("it/s", y) == []


def test_a_mild_slowdown_is_not_substantial() -> None:
    y = steady(seed=4)
    y[5000:] *= 0.8
    assert drops("throughput", y) == []


def timed_run(dt: np.ndarray) -> Run:
    n = dt.size
    steps = np.arange(n) * 10
    loss = Series(steps, np.linspace(3, 1, n))
    return Run(id="r", name="r", source="test", path="-", metrics={"train/loss": loss},
               timestamps=Series(steps, 1.7e9 + np.cumsum(dt)))


def test_without_a_logged_rate_the_log_clock_shows_a_slowdown() -> None:
    rng = np.random.default_rng(5)
    dt = np.where(np.arange(3000) < 2000, 1.0, 2.5) * np.exp(0.05 * rng.standard_normal(3000))
    found = detect_anomalies(timed_run(dt))
    assert [(a.kind, a.metric) for a in found] == [("throughput", "steps_per_sec")]
    assert 20000 <= found[0].step <= 20300  # the slowdown starts at step 20,000; rates are 30-row medians
    assert found[0].message.startswith("steps_per_sec (from the log's timestamps) dropped from 9.951 to 3.989 at step 20,260")
    assert 0.38 < found[0].evidence["ratio"] < 0.42


def test_a_pause_in_the_log_clock_is_not_a_slowdown() -> None:
    dt = np.exp(0.05 * np.random.default_rng(6).standard_normal(3000))
    dt[1500] += 3600.0  # the process was stopped for an hour, then resumed
    assert detect_anomalies(timed_run(dt)) == []


def test_a_logged_rate_or_a_key_filter_turns_the_clock_off() -> None:
    dt = np.where(np.arange(3000) < 2000, 1.0, 2.5)
    run = timed_run(dt)
    assert detect_anomalies(run, keys=["train/loss"]) == []
    run.metrics["tokens_per_sec"] = Series(np.arange(3000) * 10, np.full(3000, 5000.0))
    assert detect_anomalies(run) == []
