"""gradient: norms exploding tenfold over their running level, or vanishing; not heavy tails."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def run_of(metrics: dict[str, Series]) -> Run:
    return Run(id="r", name="r", source="test", path="-", metrics=metrics)


def grads(key: str, y: np.ndarray) -> list:
    return [a for a in detect_anomalies(run_of({key: Series(np.arange(y.size), y)})) if a.kind == "gradient"]


def lognormal(n: int = 5000, seed: int = 0, sigma: float = 0.25) -> np.ndarray:
    return np.exp(sigma * np.random.default_rng(seed).standard_normal(n))


def test_sustained_explosion_is_found_where_it_starts() -> None:
    y = lognormal()
    y[3000:] *= 100
    found = grads("grad_norm", y)
    assert [(a.metric, a.step) for a in found] == [("grad_norm", 3000)]
    assert found[0].message.startswith(
        "grad_norm exploded from a running level of 0.9633 to 103.2 at step 3,000 (107.1x)"
    )


def test_rare_isolated_jump_of_tenfold_is_reported_with_its_ratio() -> None:
    y = lognormal()
    y[2500] = 40.0
    found = grads("gradient_norm", y)
    assert [(a.step, round(a.evidence["value"])) for a in found] == [(2500, 40)]


def test_vanishing_gradient_is_found() -> None:
    y = lognormal()
    y[4000:] *= 1e-6
    found = grads("grad/norm", y)
    assert len(found) == 1 and found[0].message.startswith("grad/norm vanished")
    assert 3900 <= found[0].step <= 4050


def test_scattered_exact_zeros_are_not_vanishing() -> None:
    y = lognormal(2000, 1) * 0.1
    y[np.random.default_rng(2).random(2000) < 0.136] = 0.0  # GRPO: groups with no reward variance
    assert grads("grad_norm", y) == []


def test_bursts_warmup_and_heavy_tailed_squared_norms_are_not_explosions() -> None:
    rng = np.random.default_rng(3)
    bursty = lognormal(5000, 4)
    bursty[rng.random(5000) < 0.01] *= 3.0
    warm = lognormal(5000, 5) * (1 + 20 * np.exp(-np.arange(5000) / 50))
    squared = lognormal(2912, 6, sigma=1.8) * 8  # spans 1e-3 .. 1e3 like grad_norm_square
    assert grads("grad_norm", bursty) == []
    assert grads("grad_norm", warm) == []
    assert grads("grad_norm_square", squared) == []


def test_explosion_through_scattered_zeros_in_a_short_series_is_found() -> None:
    y = lognormal(60, 7) * 1.5
    y[40:] *= 80
    y[[43, 47, 52]] = 0.0  # GRPO-style exact zeros inside the exploded stretch
    found = grads("grad_norm", y)
    assert [(a.step, a.message.split(" ")[1]) for a in found] == [(40, "exploded")]


def test_one_step_burst_in_a_short_series_is_not_its_own_yardstick() -> None:
    y = lognormal(60, 8)
    y[30] *= 300
    found = grads("grad_norm", y)
    assert [(a.step, a.message.split(" ")[1]) for a in found] == [(30, "jumped")]
