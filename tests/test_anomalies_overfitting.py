"""overfitting: validation worse after its best while training keeps improving; sparse val."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def overfits(run: Run) -> list:
    return [a for a in detect_anomalies(run) if a.kind == "overfitting"]


N = 10000
TRAIN = Series(np.arange(N), 0.2 + 2.0 * np.exp(-np.linspace(0, 4, N)))
VAL_STEPS = np.arange(500, N + 1, 500) - 1  # sparse: every 500 steps


def test_val_loss_rising_after_best_while_train_falls_is_found_at_best_step() -> None:
    t = VAL_STEPS / N
    val = np.where(t < 0.5, 1.0 + 1.5 * np.exp(-6 * t), 1.0 + 1.5 * np.exp(-3) + 0.4 * (t - 0.5))
    found = overfits(run_of({"train/loss": TRAIN, "val/loss": Series(VAL_STEPS, val)}))
    assert [(a.metric, a.step, a.end_step) for a in found] == [("val/loss", int(VAL_STEPS[np.argmin(val)]), N - 1)]
    assert "while train/loss fell from" in found[0].message


def test_eval_loss_pairs_with_plain_loss() -> None:
    val = np.array([0.66, 0.555, 0.519, 0.494, 0.489, 0.4853, 0.4873, 0.4906, 0.4907, 0.4917])
    steps = np.arange(1, 11) * 549
    train = Series.from_lists(np.arange(1, 11) * 500, [1.14, 0.64, 0.52, 0.45, 0.40, 0.36, 0.32, 0.30, 0.27, 0.26])
    found = overfits(run_of({"loss": train, "eval_loss": Series(steps, val)}))
    assert [(a.metric, a.step) for a in found] == [("eval_loss", 3294)]


def test_val_accuracy_falling_while_train_loss_falls_is_overfitting() -> None:
    t = VAL_STEPS / N
    acc = np.where(t < 0.4, 0.5 + 0.4 * t / 0.4, 0.9 - 0.15 * (t - 0.4))
    found = overfits(run_of({"train_loss": TRAIN, "val_acc": Series(VAL_STEPS, acc)}))
    assert [(a.metric, a.step) for a in found] == [("val_acc", int(VAL_STEPS[np.argmax(acc)]))]
    assert found[0].message.startswith(
        "val_acc fell from 0.8999 (best, step 3,999) to 0.8175 (median of the last 3 evals"
    )


def test_val_flat_at_the_end_while_train_flat_is_not_overfitting() -> None:
    rng = np.random.default_rng(0)
    t = VAL_STEPS / N
    val = 0.25 + 0.1 * np.exp(-8 * t) + 0.001 * rng.standard_normal(t.size)
    flat_train = Series(np.arange(N), 0.24 + 2.0 * np.exp(-np.linspace(0, 30, N)))
    assert overfits(run_of({"train_loss": flat_train, "val_loss": Series(VAL_STEPS, val)})) == []


def test_val_and_train_rising_together_is_not_overfitting() -> None:
    val = Series.from_lists([154813, 168887, 182961, 197035, 211109], [3.5629, 3.566, 3.5701, 3.6042, 3.61])
    train = Series(np.arange(140749, 211110, 50), np.linspace(3.67, 3.73, len(range(140749, 211110, 50))))
    assert overfits(run_of({"train_loss_step": train, "val_loss": val})) == []


def test_two_worse_evals_are_a_wobble_not_a_trend() -> None:
    t = VAL_STEPS / N
    val = 1.0 + np.exp(-4 * t)
    val[-2:] += 0.2
    assert overfits(run_of({"train/loss": TRAIN, "val/loss": Series(VAL_STEPS, val)})) == []


def test_flat_noisy_val_accuracy_cannot_overfit() -> None:
    rng = np.random.default_rng(1)
    acc = 0.41 + 0.02 * rng.standard_normal(40)
    acc[35] = 0.46
    found = detect_anomalies(run_of({"train_loss": TRAIN, "test_acc": Series(np.arange(40) * 250, acc)}))
    assert [a.kind for a in found] == ["plateau"]


def test_flat_val_accuracy_with_a_nan_first_eval_still_cannot_overfit() -> None:
    rng = np.random.default_rng(1)
    acc = 0.41 + 0.02 * rng.standard_normal(40)
    acc[35] = 0.46
    acc[0] = np.nan
    found = detect_anomalies(run_of({"train_loss": TRAIN, "test_acc": Series(np.arange(40) * 250, acc)}))
    assert [a.kind for a in found] == ["nan", "plateau"]
