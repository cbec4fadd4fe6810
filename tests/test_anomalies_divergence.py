"""divergence: a loss that blows up and stays up; not a recovered spike, restart or overfit."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def kinds(run: Run) -> list[tuple[str, str, int]]:
    return [(a.kind, a.metric, a.step) for a in detect_anomalies(run)]


def falling(n: int = 4000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    return (0.5 + 2.0 * np.exp(-5 * t)) * (1 + 0.02 * rng.standard_normal(n))


def test_blow_up_that_stays_is_divergence_at_its_start() -> None:
    y = falling()
    y[3000:] = 6.0 * (1 + 0.02 * np.random.default_rng(1).standard_normal(1000))
    found = [a for a in detect_anomalies(run_of({"train/loss": Series(np.arange(4000), y)})) if a.kind == "divergence"]
    assert [(a.metric, a.step, a.end_step) for a in found] == [("train/loss", 3000, 3999)]
    assert found[0].message.startswith("train/loss diverged from 0.5")
    assert ", from step 3,000, still " not in found[0].message
    assert "(best, near step 2,990) from step 3,000, still 5.988 at step 3,999" in found[0].message


def test_gradual_blow_up_reports_where_it_crossed_halfway() -> None:
    y = falling()
    y[2000:] += np.linspace(0, 10, 2000)
    found = [a for a in detect_anomalies(run_of({"loss": Series(np.arange(4000), y)})) if a.kind == "divergence"]
    assert len(found) == 1 and 2800 <= found[0].step <= 3100


def test_spikes_inside_a_divergence_are_not_listed_separately() -> None:
    y = falling()
    y[3000:] = 6.0
    y[3500] = 60.0
    assert [k for k in kinds(run_of({"train/loss": Series(np.arange(4000), y)})) if k[0] == "spike"] == []


def test_recovered_spike_and_lr_restart_are_not_divergence() -> None:
    y = falling()
    y[2000:2003] = 9.0
    t = np.linspace(0, 1, 4000)
    restart = falling() + 0.3 * np.exp(-10 * ((t - 0.9) % 1.0)) * (t >= 0.9)
    assert "divergence" not in [k[0] for k in kinds(run_of({"train/loss": Series(np.arange(4000), y)}))]
    assert kinds(run_of({"train/loss": Series(np.arange(4000), restart)})) == []


def test_validation_loss_rising_with_a_training_partner_is_left_to_overfitting() -> None:
    val = np.concatenate([np.linspace(2.0, 1.0, 10), np.linspace(1.0, 2.5, 10)])
    run = run_of({"train/loss": Series(np.arange(4000), falling()), "val/loss": Series(np.arange(20) * 200 + 199, val)})
    assert "divergence" not in [k[0] for k in kinds(run)]


def test_loss_hovering_around_zero_never_diverges() -> None:
    rng = np.random.default_rng(3)
    y = np.where(rng.random(2000) < 0.5, 0.0, 1e-4 * rng.standard_normal(2000))
    y[1500:] = np.abs(y[1500:])
    assert kinds(run_of({"loss": Series(np.arange(2000), y)})) == []
