"""spike: short excursions of loss-like metrics against local noise; silent on real-world noise."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def loss_curve(n: int = 5000, seed: int = 0, noise: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    clean = 0.3 + 2.5 * np.exp(-6 * t)
    return np.arange(n, dtype=np.int64) * 10, clean * (1 + noise * rng.standard_normal(n))


def spikes(run: Run) -> list:
    return [a for a in detect_anomalies(run) if a.kind == "spike"]


def test_spike_found_at_its_step_with_ratio_and_recovery() -> None:
    steps, y = loss_curve()
    y[2500] = 8.0
    found = spikes(run_of({"train/loss": Series(steps, y)}))
    assert [(a.metric, a.step, a.end_step) for a in found] == [("train/loss", 25000, 25010)]
    assert found[0].message.startswith("train/loss spiked to 8 at step 25,000 (")
    assert found[0].message.endswith("recovered by 25,010")
    assert 18 < found[0].evidence["ratio"] < 20  # the local level there is 0.3 + 2.5 e^-3 = 0.42


def test_three_point_spike_is_one_finding_at_its_peak() -> None:
    steps, y = loss_curve()
    y[3000:3003] = [4.0, 6.0, 5.0]
    found = spikes(run_of({"loss": Series(steps, y)}))
    assert [(a.step, a.end_step) for a in found] == [(30010, 30030)]


def test_spike_on_negative_valued_loss_is_reported_in_sigmas() -> None:
    rng = np.random.default_rng(1)
    y = -3.0 + 0.01 * rng.standard_normal(2000)
    y[1200] = 5.0
    found = spikes(run_of({"train_loss": Series(np.arange(2000), y)}))
    assert [(a.metric, a.step) for a in found] == [("train_loss", 1200)]
    assert "local sigmas" in found[0].message


def test_only_the_strongest_three_are_listed_and_the_rest_counted() -> None:
    steps, y = loss_curve()
    for i, v in zip((1000, 1800, 2600, 3400, 4200), (3.0, 9.0, 4.0, 12.0, 5.0)):
        y[i] = v
    found = spikes(run_of({"train/loss": Series(steps, y)}))
    assert [a.step for a in found] == [18000, 34000, 42000]
    assert all(a.message.endswith("; 2 smaller spikes not listed") for a in found)


def test_warmup_and_fast_first_drop_are_not_spikes() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    t = np.arange(n)
    y = 0.5 + 10.0 * np.exp(-t / 15.0) + 0.01 * rng.standard_normal(n)
    assert spikes(run_of({"train/loss": Series(t, y)})) == []


def test_epoch_boundary_bumps_and_lr_restarts_are_not_spikes() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    t = np.linspace(0, 1, n)
    base = 0.4 + 2 * np.exp(-4 * t)
    epoch_phase = (t * 12) % 1.0
    restart_phase = (t * 4) % 1.0
    y = base * (1 - 0.06 * (1 - epoch_phase)) + 0.15 * base * np.exp(-8 * restart_phase) * (t > 0.25)
    y = y * (1 + 0.02 * rng.standard_normal(n))
    assert spikes(run_of({"train/loss": Series(np.arange(n), y)})) == []


def test_heavy_tailed_batch_noise_is_not_a_spike() -> None:
    rng = np.random.default_rng(4)
    n = 20000
    y = 2.0 * (1 + 0.05 * rng.standard_t(3, n))
    assert spikes(run_of({"train/loss": Series(np.arange(n), y)})) == []


def test_long_excursion_and_excursion_to_the_end_are_not_spikes() -> None:
    steps, y = loss_curve()
    long = y.copy()
    long[2000:2300] *= 5
    to_end = y.copy()
    to_end[-3:] = 9.0
    assert spikes(run_of({"train/loss": Series(steps, long)})) == []
    assert spikes(run_of({"train/loss": Series(steps, to_end)})) == []


def test_accuracy_dip_is_not_judged_as_a_spike() -> None:
    rng = np.random.default_rng(5)
    acc = 0.8 + 0.005 * rng.standard_normal(2000)
    acc[1000] = 0.1
    assert spikes(run_of({"val/acc": Series(np.arange(2000), acc)})) == []
