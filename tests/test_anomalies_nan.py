"""nan: one finding per metric with the first step and the count, on every role."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def test_nan_to_the_end_is_one_finding_with_first_step_and_count() -> None:
    y = np.linspace(3, 1, 1000)
    y[700:] = np.nan
    found = detect_anomalies(run_of({"train/loss": Series(np.arange(1000) * 5, y)}))
    assert [(a.kind, a.metric, a.step, a.end_step) for a in found] == [("nan", "train/loss", 3500, 4995)]
    assert found[0].message == "train/loss is NaN from step 3,500 (300 of 1,000 points, to the end)"


def test_single_inf_in_lr_is_reported_with_its_kind() -> None:
    y = np.full(100, 1e-4)
    y[40] = np.inf
    found = detect_anomalies(run_of({"lr": Series(np.arange(100), y)}))
    assert [(a.kind, a.step) for a in found] == [("nan", 40)]
    assert found[0].message == "lr is Inf at step 40 (1 of 100 points)"


def test_mixed_nan_and_inf_that_recover_say_so() -> None:
    y = np.ones(50)
    y[[10, 12]] = [np.nan, -np.inf]
    (a,) = detect_anomalies(run_of({"grad_norm": Series(np.arange(50), y)}))
    assert a.message == "grad_norm is NaN/-Inf from step 10 (2 of 50 points, last at step 12, finite after)"


def test_finite_series_raises_no_nan() -> None:
    assert detect_anomalies(run_of({"epoch": Series(np.arange(10), np.arange(10.0))})) == []
