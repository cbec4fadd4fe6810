"""detect_anomalies: roles pick the detectors, findings come sorted and tidy, healthy is silent."""

from __future__ import annotations

import re

import numpy as np

from runwise_core.analysis.anomalies import KINDS, Anomaly, detect_anomalies
from runwise_core.model import Run, Series
from runwise_core.settings import settings_from_mapping


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def healthy_metrics(seed: int = 0) -> dict[str, Series]:
    rng = np.random.default_rng(seed)
    n = 5000
    t = np.linspace(0, 1, n)
    steps = np.arange(n) * 10
    loss = (0.4 + 2.6 * np.exp(-5 * t)) * (1 + 0.02 * rng.standard_normal(n))
    vsteps = steps[499::500]
    return {
        "train/loss": Series(steps, loss),
        "val/loss": Series(vsteps, 0.5 + 2.6 * np.exp(-5 * t[499::500]) + 0.002 * rng.standard_normal(vsteps.size)),
        "val/acc": Series(vsteps, 0.3 + 0.6 * (1 - np.exp(-5 * t[499::500]))),
        "train/lr": Series(steps, 3e-4 * np.minimum(1, t / 0.05) * 0.5 * (1 + np.cos(np.pi * t))),
        "grad_norm": Series(steps, np.exp(0.3 * rng.standard_normal(n))),
        "tokens_per_sec": Series(steps, 9000 * np.exp(0.04 * rng.standard_normal(n))),
    }


def test_healthy_run_raises_nothing() -> None:
    assert detect_anomalies(run_of(healthy_metrics())) == []


def test_findings_are_sorted_by_step_and_carry_stable_kinds() -> None:
    m = healthy_metrics()
    loss = m["train/loss"].values.copy()
    loss[4000] = 20.0
    grad = m["grad_norm"].values.copy()
    grad[1000] = np.nan
    m["train/loss"] = Series(m["train/loss"].steps, loss)
    m["grad_norm"] = Series(m["grad_norm"].steps, grad)
    found = detect_anomalies(run_of(m))
    assert [(a.kind, a.metric, a.step) for a in found] == [("nan", "grad_norm", 10000), ("spike", "train/loss", 40000)]
    assert all(isinstance(a, Anomaly) and a.kind in KINDS for a in found)


def test_keys_limit_what_is_judged_and_unknown_keys_are_ignored() -> None:
    m = healthy_metrics()
    grad = m["grad_norm"].values.copy()
    grad[100] = np.nan
    m["grad_norm"] = Series(m["grad_norm"].steps, grad)
    run = run_of(m)
    assert detect_anomalies(run, keys=["train/loss", "nope"]) == []
    assert [a.metric for a in detect_anomalies(run, keys=["grad_norm"])] == ["grad_norm"]


def test_settings_role_override_makes_an_unknown_key_judged_as_loss() -> None:
    rng = np.random.default_rng(1)
    y = 1.0 + 0.01 * rng.standard_normal(3000) + np.linspace(1, 0, 3000)
    y[2000] = 12.0
    run = run_of({"my_metric_x": Series(np.arange(3000), y)})
    assert detect_anomalies(run) == []
    settings = settings_from_mapping({"roles": {"my_metric_*": "train_loss"}})
    assert [(a.kind, a.step) for a in detect_anomalies(run, settings=settings)] == [("spike", 2000)]


def test_settings_thresholds_change_the_verdict() -> None:
    m = healthy_metrics()
    tp = m["tokens_per_sec"].values.copy()
    tp[3000:] *= 0.7
    run = run_of({"tokens_per_sec": Series(m["tokens_per_sec"].steps, tp)})
    assert detect_anomalies(run) == []
    strict = settings_from_mapping({"anomalies": {"throughput_drop_frac": 0.8}})
    assert [a.kind for a in detect_anomalies(run, settings=strict)] == ["throughput"]


def test_direction_override_judges_a_rising_metric_as_bad() -> None:
    t = np.arange(40)
    score = Series(t * 100, np.where(t < 20, 0.5 + t * 0.02, 0.9 - (t - 20) * 0.01))
    run = run_of({"train_loss": Series(np.arange(4000), np.linspace(2, 1, 4000)), "val/custom": score})
    assert detect_anomalies(run) == []
    custom = settings_from_mapping({"roles": {"val/custom": "val_loss"}, "directions": {"val/custom": "higher"}})
    found = detect_anomalies(run, settings=custom)
    assert [(a.kind, a.metric, a.step) for a in found] == [("overfitting", "val/custom", 2000)]


def test_messages_are_one_line_with_short_numbers() -> None:
    m = healthy_metrics()
    loss = m["train/loss"].values.copy()
    loss[3333] = 17.123456789
    loss[4500:] = np.nan
    m["train/loss"] = Series(m["train/loss"].steps, loss)
    found = detect_anomalies(run_of(m))
    assert found
    for a in found:
        assert "\n" not in a.message
        assert not re.search(r"\d\.\d{5,}", a.message), a.message
        assert "%" not in a.message or a.kind == "plateau"
