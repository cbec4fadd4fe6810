"""The small form of benchmarks/anomalies: the labelled corpus, scored as the README reports it."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "anomalies"
sys.path.insert(0, str(BENCH))

from score import score, small_corpus  # noqa: E402


def test_small_benchmark_meets_the_goal() -> None:
    s = score(small_corpus(seed=1))
    precision, recall, f1 = s.prf()
    assert f1 >= 0.95, (precision, recall, s.misses, s.false)
    assert s.false_alarms_per_20 <= 1.0, s.false
    for kind in ("spike", "nan", "divergence", "overfitting", "plateau", "gradient", "throughput"):
        assert s.tp[kind] >= 1, kind  # every kind is exercised
