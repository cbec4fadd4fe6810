"""Any series, however degenerate, gives a sorted list of well-formed findings, never an error."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runwise_core.analysis.anomalies import KINDS, detect_anomalies
from runwise_core.model import Run, Series

KEYS = ("train/loss", "val/loss", "val/acc", "grad_norm", "tokens_per_sec", "lr", "reward")

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e6, max_value=1e6),
    st.sampled_from([0.0, -0.0, 1.0]),
)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(values, min_size=0, max_size=300),
    key=st.sampled_from(KEYS),
    stride=st.integers(1, 50),
    repeat_steps=st.booleans(),
)
def test_any_series_gives_well_formed_findings(data: list[float], key: str, stride: int, repeat_steps: bool) -> None:
    steps = np.arange(len(data), dtype=np.int64) * stride
    if repeat_steps:
        steps = steps // 2  # ties, as merged segments may have
    series = Series(steps, np.asarray(data, dtype=np.float64))
    run = Run(id="r", name="r", source="test", path="-", metrics={key: series, "train_loss": series})
    found = detect_anomalies(run)
    assert [a.step for a in found] == sorted(a.step for a in found)
    for a in found:
        assert a.kind in KINDS and a.metric in run.metrics
        assert a.message and "\n" not in a.message
        assert all(isinstance(v, float) for v in a.evidence.values())
    assert sum(1 for a in found if a.kind == "nan" and a.metric == key) == (1 if not np.all(np.isfinite(data)) else 0)


def test_constant_and_tiny_series_raise_nothing() -> None:
    for n in (0, 1, 2, 7, 25, 500):
        for v in (0.0, 1.0, -2.0):
            run = Run(id="r", name="r", source="test", path="-",
                      metrics={k: Series(np.arange(n), np.full(n, v)) for k in KEYS})
            assert [a for a in detect_anomalies(run) if a.kind != "plateau"] == [], (n, v)


def test_values_near_the_float_limit_raise_no_error_or_warning() -> None:
    import warnings

    big = np.array([1.7976931348623157e308, -1.7976931348623157e308, 5e307, 2.2e-308, 0.0, 1.0] * 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for key in KEYS:
            run = Run(id="r", name="r", source="test", path="-", metrics={key: Series(np.arange(big.size), big)})
            assert all(a.kind in KINDS for a in detect_anomalies(run))
