"""plateau: flat from the start (stuck at chance) or a dead stop while heading lower."""

from __future__ import annotations

import math

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def plateaus(run: Run) -> list[tuple[str, int]]:
    return [(a.metric, a.step) for a in detect_anomalies(run) if a.kind == "plateau"]


def test_loss_stuck_at_ln2_from_the_start_names_chance() -> None:
    rng = np.random.default_rng(0)
    y = math.log(2) + 0.03 * rng.standard_normal(2912)
    run = run_of({"train_loss_local": Series(np.arange(2912), y)})
    found = [a for a in detect_anomalies(run) if a.kind == "plateau"]
    assert [(a.metric, a.step, a.end_step) for a in found] == [("train_loss_local", 0, 2911)]
    assert found[0].message.endswith("(near ln 2 = 0.6931: chance for 2 classes)")


def test_flat_noisy_accuracy_is_a_plateau() -> None:
    rng = np.random.default_rng(1)
    acc = 0.41 + 0.02 * rng.standard_normal(40)
    assert plateaus(run_of({"test_acc": Series(np.arange(40), acc)})) == [("test_acc", 0)]


def test_dead_stop_while_heading_lower_is_a_stall() -> None:
    rng = np.random.default_rng(2)
    n = 6000
    t = np.linspace(0, 1, n)
    y = np.where(t < 0.4, 4.0 - 6.0 * t, 4.0 - 6.0 * 0.4) * (1 + 0.01 * rng.standard_normal(n))
    found = plateaus(run_of({"train/loss": Series(np.arange(n), y)}))
    assert len(found) == 1 and found[0][0] == "train/loss"
    assert 2300 <= found[0][1] <= 2700  # the stop is at step 2,400


def test_smooth_convergence_is_not_a_plateau() -> None:
    rng = np.random.default_rng(3)
    n = 8000
    t = np.linspace(0, 1, n)
    for rate in (4.0, 8.0, 15.0):
        y = (0.24 + 1.8 * np.exp(-rate * t)) * (1 + 0.02 * rng.standard_normal(n))
        assert plateaus(run_of({"train_loss": Series(np.arange(n), y)})) == [], rate


def test_warmup_cosine_and_negative_valued_losses_are_not_plateaus() -> None:
    rng = np.random.default_rng(4)
    n = 5000
    t = np.linspace(0, 1, n)
    lr = np.where(t < 0.05, t / 0.05, 0.5 * (1 + np.cos(np.pi * (t - 0.05) / 0.95)))
    cosine = 0.8 + 3 * np.exp(-4 * np.cumsum(lr) / lr.sum())
    negative = -4.0 + 3 * np.exp(-3 * t)
    for y in (cosine, negative):
        y = y + 0.01 * rng.standard_normal(n)
        assert plateaus(run_of({"train/loss": Series(np.arange(n), y)})) == []


def test_loss_around_zero_and_noisy_rl_returns_are_not_plateaus() -> None:
    rng = np.random.default_rng(5)
    grpo = np.where(rng.random(2000) < 0.5, 0.0, 2e-4 * rng.standard_normal(2000))
    t = np.linspace(0, 1, 20000)
    returns = -500 + 800 * (1 - np.exp(-3 * t)) + 200 * rng.standard_normal(t.size)
    assert plateaus(run_of({"loss": Series(np.arange(2000), grpo)})) == []
    assert plateaus(run_of({"episode/return": Series(np.arange(t.size), returns)})) == []


def test_a_loss_that_reached_zero_or_an_accuracy_at_its_ceiling_has_not_stalled() -> None:
    rng = np.random.default_rng(6)
    n = 4000
    t = np.linspace(0, 1, n)
    solved = np.maximum(3.0 - 10.0 * t, 0.03) + 1e-3 * np.abs(rng.standard_normal(n))
    ceiling = np.minimum(0.2 + 3.0 * t, 1.0) - 0.001 * np.abs(rng.standard_normal(n))
    assert plateaus(run_of({"train/loss": Series(np.arange(n), solved)})) == []
    assert plateaus(run_of({"train/acc": Series(np.arange(n), ceiling)})) == []


def test_step_lr_plateaus_between_decays_are_not_stalls() -> None:
    rng = np.random.default_rng(7)
    n = 9000
    t = np.linspace(0, 1, n)
    # ImageNet-style: a fast early fall, then LR steps at 1/3 and 2/3 drop the loss to new levels
    base = (1.2 + 3.0 * np.exp(-12 * t)
            - 0.35 * (t >= 1 / 3) * (1 - np.exp(-(t - 1 / 3).clip(0) * 200))
            - 0.15 * (t >= 2 / 3) * (1 - np.exp(-(t - 2 / 3).clip(0) * 200)))
    y = base * (1 + 0.01 * rng.standard_normal(n))
    assert plateaus(run_of({"train/loss": Series(np.arange(n), y)})) == []
