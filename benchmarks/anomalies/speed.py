"""Time the anomaly detectors on 1,000,000-point series, one metric per role.

    .venv/bin/python benchmarks/anomalies/speed.py [--points N] [--repeat R]

Prints the best of R timings of ``detect_anomalies(run, keys=[key])`` per metric. Each
series carries one anomaly so the detectors do their full work (no early exit).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from runwise_core.analysis.anomalies import detect_anomalies
from runwise_core.model import Run, Series


def big_run(n: int, seed: int = 0) -> Run:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    steps = np.arange(n, dtype=np.int64)
    loss = (0.5 + 3 * np.exp(-5 * t)) * (1 + 0.03 * rng.standard_normal(n))
    loss[n // 2] = 40.0
    grad = np.exp(0.3 * rng.standard_normal(n))
    grad[int(0.7 * n) :] *= 50
    tps = 9000 * np.exp(0.05 * rng.standard_normal(n))
    tps[int(0.6 * n) :] *= 0.4
    every = max(1, n // 1000)
    val = 0.6 + 3 * np.exp(-5 * t[::every])
    val[len(val) // 2 :] += np.linspace(0, 0.3, len(val) - len(val) // 2)
    nan = loss.copy()
    nan[int(0.9 * n) :] = np.nan
    return Run(id="big", name="big", source="bench", path="-", metrics={
        "train/loss": Series(steps, loss),
        "val/loss": Series(steps[::every], val),
        "grad_norm": Series(steps, grad),
        "tokens_per_sec": Series(steps, tps),
        "loss_with_nan": Series(steps, nan),
    })


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    run = big_run(args.points)
    print(f"{platform.machine()} / Python {platform.python_version()} / numpy {np.__version__}")
    print("| metric | points | best of {} (s) | findings |".format(args.repeat))
    print("|---|---|---|---|")
    for key, series in run.metrics.items():
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            found = detect_anomalies(run, keys=[key])
            best = min(best, time.perf_counter() - t0)
        print(f"| {key} | {len(series):,} | {best:.3f} | {', '.join(sorted({a.kind for a in found})) or '-'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
