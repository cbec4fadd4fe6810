"""Score the anomaly detectors on the synthetic corpus: per-kind recall, precision, F1, and
false alarms on healthy runs.

    .venv/bin/python benchmarks/anomalies/score.py            # full corpus
    .venv/bin/python benchmarks/anomalies/score.py --small    # the form the test suite runs

A detection matches a label when kind and metric agree (and, for spike and nan, the step is
within 3 points of the injected one). Anything reported that is not a label is a false
positive of its kind. A healthy run "false-alarms" when it raises anything at all.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import KINDS, Case, make_corpus  # noqa: E402

from runwise_core.analysis.anomalies import Anomaly, detect_anomalies  # noqa: E402

STEP_CHECKED = ("spike", "nan")


@dataclass
class Score:
    tp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    fn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    fp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    healthy: int = 0
    healthy_alarmed: int = 0
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def prf(self, kind: str | None = None) -> tuple[float, float, float]:
        kinds = KINDS if kind is None else (kind,)
        tp = sum(self.tp[k] for k in kinds)
        fp = sum(self.fp[k] for k in kinds)
        fn = sum(self.fn[k] for k in kinds)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    @property
    def false_alarms_per_20(self) -> float:
        return 20.0 * self.healthy_alarmed / max(1, self.healthy)


def _matches(case: Case, label: tuple[str, str], found: list[Anomaly]) -> Anomaly | None:
    kind, metric = label
    for a in found:
        if a.kind == kind and a.metric == metric:
            if kind in STEP_CHECKED and label in case.at_step:
                run = case.run.metrics[metric]
                want = int(np.searchsorted(run.steps, case.at_step[label]))
                got = int(np.searchsorted(run.steps, a.step))
                if abs(want - got) > 3:
                    continue
            return a
    return None


def score(cases: list[Case]) -> Score:
    s = Score()
    t0 = time.perf_counter()
    for case in cases:
        found = detect_anomalies(case.run)
        used: set[int] = set()
        for label in sorted(case.labels):
            hit = _matches(case, label, found)
            if hit is None:
                s.fn[label[0]] += 1
                s.misses.append(f"{case.run.id} [{case.shape}, {case.note}] missed {label}")
            else:
                s.tp[label[0]] += 1
                used.add(id(hit))
        for a in found:
            if id(a) not in used and (a.kind, a.metric) not in case.labels:
                s.fp[a.kind] += 1
                s.false.append(f"{case.run.id} [{case.shape}, {case.note}] {a.kind} {a.metric}: {a.message}")
        if case.injected == "healthy":
            s.healthy += 1
            s.healthy_alarmed += bool(found)
    s.seconds = time.perf_counter() - t0
    return s


def table(s: Score) -> str:
    lines = ["| kind | recall | precision | F1 | TP | FN | FP |", "|---|---|---|---|---|---|---|"]
    for k in KINDS:
        p, r, f = s.prf(k)
        lines.append(f"| {k} | {r:.3f} | {p:.3f} | {f:.3f} | {s.tp[k]} | {s.fn[k]} | {s.fp[k]} |")
    p, r, f = s.prf()
    tp, fn, fp = sum(s.tp.values()), sum(s.fn.values()), sum(s.fp.values())
    lines.append(f"| **all** | {r:.3f} | {p:.3f} | **{f:.3f}** | {tp} | {fn} | {fp} |")
    lines.append("")
    lines.append(f"Healthy runs with any finding: {s.healthy_alarmed} of {s.healthy} "
                 f"({s.false_alarms_per_20:.2f} per 20 healthy runs).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="the small corpus the test suite runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-v", "--verbose", action="store_true", help="list misses and false positives")
    args = ap.parse_args(argv)
    cases = small_corpus(args.seed) if args.small else make_corpus(args.seed)
    s = score(cases)
    points = sum(len(se) for c in cases for se in c.run.metrics.values())
    where = f"{platform.machine()} / Python {platform.python_version()} / numpy {np.__version__}"
    print(f"{len(cases)} runs, {points:,} points, detection {s.seconds:.1f}s on {where}")
    print(table(s))
    if args.verbose:
        for line in s.misses + s.false:
            print(line)
    return 0


def small_corpus(seed: int = 0) -> list[Case]:
    """The form the test suite runs: 40 healthy and 8 per kind, short series."""
    return make_corpus(seed, healthy=40, per_kind=8, sizes=(200, 1000, 3000))


if __name__ == "__main__":
    raise SystemExit(main())
