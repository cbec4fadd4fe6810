"""A labelled corpus of synthetic training runs for measuring the anomaly detectors.

Every run is built from the same parts: a training loss of some shape (exponential, power
law, warmup + cosine, step LR drops, SGDR restarts, epoch-boundary bumps, negative-valued),
noise of some level (Gaussian plus occasional heavy-tailed batches), a sparse validation
loss (every N steps, aligned by step), sometimes a validation accuracy, an lr schedule, a
gradient norm (log-normal noise, 3x bursts, scattered exact zeros), and sometimes a
throughput series (slow start, short eval/checkpoint dips), or an RL run (very noisy
returns), and a log clock (timestamps with noise, eval pauses and long stop/resume pauses). Healthy runs carry all of this and must raise nothing (hard negatives); positive
runs get exactly one anomaly injected, at a varied position and magnitude, and carry its
label ``(kind, metric)``.

Deterministic: ``make_corpus(seed, ...)`` always returns the same runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from runwise_core.model import Run, Series

KINDS = ("spike", "nan", "divergence", "overfitting", "plateau", "gradient", "throughput")
SHAPES = ("exp", "power", "cosine", "steplr", "sgdr", "epochs", "negative", "rl")
TRAIN_KEYS = ("train/loss", "loss", "train_loss")
VAL_KEYS = {"train/loss": "val/loss", "loss": "eval_loss", "train_loss": "val_loss"}


@dataclass
class Case:
    """One run plus what a perfect detector reports on it."""

    run: Run
    labels: set[tuple[str, str]]  # (kind, metric) that must be found
    shape: str
    injected: str  # "healthy" or the kind injected
    note: str = ""
    at_step: dict[tuple[str, str], int] = field(default_factory=dict)  # expected step where it matters


def _noise(rng: np.random.Generator, n: int, heavy: bool) -> np.ndarray:
    z = rng.standard_normal(n)
    if heavy:  # a few hard batches: t(5)-like tails
        z = rng.standard_t(5, n) * 0.8
    return z


def _train_curve(rng: np.random.Generator, shape: str, t: np.ndarray, n_epochs: int) -> np.ndarray:
    l0 = rng.uniform(2.0, 10.0)
    lf = l0 * rng.uniform(0.05, 0.6)
    if shape == "power":
        k = rng.uniform(0.3, 0.8)
        c = (1 + 200 * t) ** (-k)
        return lf + (l0 - lf) * (c - c[-1]) / (1 - c[-1])
    if shape == "cosine":
        warm = rng.uniform(0.01, 0.1)
        lr = np.where(t < warm, t / warm, 0.5 * (1 + np.cos(np.pi * (t - warm) / (1 - warm))))
        progress = np.cumsum(lr) / np.sum(lr)
        return lf + (l0 - lf) * np.exp(-4 * progress)
    if shape == "steplr":
        base = lf + (l0 - lf) * np.exp(-rng.uniform(3, 8) * t)
        for d in sorted(rng.uniform(0.3, 0.9, 2)):
            base = base - (t >= d) * 0.05 * lf * (1 - np.exp(-(t - d).clip(0) * 50))
        return base
    if shape == "sgdr":
        base = lf + (l0 - lf) * np.exp(-rng.uniform(3, 6) * t)
        cycles = rng.integers(2, 5)
        phase = (t * cycles) % 1.0
        bump = rng.uniform(0.03, 0.12) * base * np.exp(-phase * rng.uniform(5, 15))
        bump[t < 1.0 / cycles] = 0
        return base + bump
    if shape == "epochs":
        base = lf + (l0 - lf) * np.exp(-rng.uniform(3, 8) * t)
        phase = (t * n_epochs) % 1.0
        return base * (1 - rng.uniform(0.02, 0.08) * (phase > 0) * (1 - phase)) * np.where(t * n_epochs < 1, 1, 1)
    if shape == "negative":  # e.g. a negative log-likelihood bound that goes below zero
        off = rng.uniform(2.0, 8.0)
        return -off + (l0 - lf) * np.exp(-rng.uniform(2, 6) * t)
    return lf + (l0 - lf) * np.exp(-rng.uniform(3, 9) * t)  # exp


def _run(run_id: str, metrics: dict[str, Series], clock: Series) -> Run:
    return Run(id=run_id, name=run_id, source="synthetic", path="-", metrics=metrics, timestamps=clock)


def healthy_parts(rng: np.random.Generator, shape: str, n: int) -> dict:
    """The arrays of one healthy run (before any injection)."""
    stride = int(rng.choice([1, 1, 10, 50]))
    steps = np.arange(1, n + 1, dtype=np.int64) * stride
    t = np.linspace(0, 1, n)
    n_epochs = int(rng.integers(3, 30))
    key = str(rng.choice(TRAIN_KEYS))
    parts: dict = {"steps": steps, "t": t, "key": key, "val_key": VAL_KEYS[key], "stride": stride}
    # the log's clock: seconds per row with noise, short eval pauses, and 0-2 long pauses
    # (a stopped and resumed process) that must not read as a slowdown
    dt = rng.uniform(0.05, 2.0) * np.exp(rng.uniform(0.01, 0.2) * rng.standard_normal(n))
    dt[rng.random(n) < 0.02] += rng.uniform(1.0, 30.0)
    for _ in range(int(rng.integers(0, 3))):
        dt[int(rng.integers(0, n))] += rng.uniform(60.0, 3600.0)
    parts["dt"] = dt
    if shape == "rl":
        ret = -500 + 800 * (1 - np.exp(-rng.uniform(2, 6) * t))
        parts["return"] = ret + rng.uniform(80, 250) * rng.standard_normal(n)
        level = rng.uniform(1, 20) * (1 + 0.5 * np.exp(-3 * t))
        parts["train"] = level * np.exp(0.35 * rng.standard_normal(n))  # RL losses are noisy by nature
        parts["rl"] = True
        return parts
    clean = _train_curve(rng, shape, t, n_epochs)
    scale = np.abs(clean) if shape != "negative" else np.abs(clean - clean.min()) + 0.3
    sigma = rng.uniform(0.003, 0.06)
    parts["clean"] = clean
    parts["sigma"] = sigma
    parts["train"] = clean + sigma * scale * _noise(rng, n, heavy=rng.random() < 0.3)
    if rng.random() < 0.25:  # a resume: optimizer state reset, loss jumps 10-40% and recovers
        at = int(rng.uniform(0.2, 0.9) * n)
        decay = max(1.0, rng.uniform(0.01, 0.03) * n)
        parts["train"][at:] += rng.uniform(0.1, 0.4) * scale[at:] * np.exp(-np.arange(n - at) / decay)
    if rng.random() < 0.25:  # early instability: the loss rises 5-20% during LR warmup, then falls
        width = max(2.0, rng.uniform(0.01, 0.04) * n)
        parts["train"] += rng.uniform(0.05, 0.2) * scale * np.exp(-(((np.arange(n) - width) / (width / 2)) ** 2))
    # sparse validation, aligned by step: every `every` training points
    n_val = int(rng.integers(8, 40))
    vidx = np.unique(np.linspace(n // n_val, n - 1, n_val).astype(int))
    gap = rng.uniform(0.02, 0.2) * np.abs(clean[vidx]) + 0.05
    val_clean = clean[vidx] + gap  # a steady generalisation gap: healthy
    parts["vidx"] = vidx
    parts["val_clean"] = val_clean
    parts["val"] = val_clean + rng.uniform(0.001, 0.01) * np.abs(val_clean).mean() * rng.standard_normal(vidx.size)
    if rng.random() < 0.4:
        ceiling = rng.choice([0.9, 1.0])  # some tasks saturate at 100%: a ceiling is not a stall
        acc = 0.3 + (ceiling - 0.3) * (1 - np.exp(-rng.uniform(2, 12) * t[vidx]))
        parts["acc"] = np.minimum(acc + 0.005 * rng.standard_normal(vidx.size), 1.0)
    warm = max(1, int(rng.uniform(0.01, 0.1) * n))
    lr = np.where(np.arange(n) < warm, np.arange(n) / warm, 0.5 * (1 + np.cos(np.pi * t)))
    parts["lr"] = 3e-4 * lr
    drift = rng.uniform(1.0, 3.0) ** t  # norms often creep up late in training
    level = rng.uniform(0.3, 3.0)  # drawn in this order: the corpus must not change with layout
    spread = rng.uniform(0.1, 0.6)
    g = level * (1 + 2 * np.exp(-20 * t)) * drift * np.exp(spread * rng.standard_normal(n))
    bursts = rng.random(n) < 0.01
    g[bursts] *= rng.uniform(1.5, 3.0, bursts.sum())
    if rng.random() < 0.3:  # scattered exact zeros, as GRPO logs them
        g[rng.random(n) < 0.13] = 0.0
    parts["grad"] = g
    if rng.random() < 0.5:
        slow = 1.0 - rng.uniform(0.0, 0.2) * t  # longer sequences later: a gentle slowdown
        tp = rng.uniform(500, 50000) * slow * np.exp(rng.uniform(0.02, 0.15) * rng.standard_normal(n))
        tp[: max(1, int(0.02 * n))] *= 0.3  # slow start (compile, warmup)
        for d in rng.uniform(0.1, 0.95, int(rng.integers(0, 4))):  # eval / checkpoint dips
            i = int(d * n)
            tp[i : i + max(1, int(0.005 * n))] *= 0.1
        parts["tp"] = tp
    return parts


def build(run_id: str, parts: dict) -> Run:
    steps = parts["steps"]
    m = {parts["key"]: Series(steps, parts["train"].astype(np.float64))}
    clock = Series(steps, 1.7e9 + np.cumsum(parts["dt"]))
    if parts.get("rl"):
        m["episode/return"] = Series(steps, parts["return"])
        return _run(run_id, m, clock)
    vs = steps[parts["vidx"]]
    m[parts["val_key"]] = Series(vs, parts["val"].astype(np.float64))
    if "acc" in parts:
        m["val/acc"] = Series(vs, parts["acc"])
    m["lr"] = Series(steps, parts["lr"])
    m["grad_norm"] = Series(steps, parts["grad"])
    if "tp" in parts:
        m["tokens_per_sec"] = Series(steps, parts["tp"])
    return _run(run_id, m, clock)


def inject(rng: np.random.Generator, kind: str, parts: dict) -> tuple[set[tuple[str, str]], dict, str]:
    """Change ``parts`` in place to carry one anomaly; return its labels, expected steps, note."""
    n = parts["steps"].size
    key = parts["key"]
    steps = parts["steps"]
    y = parts["train"]
    if kind == "spike":
        p = int(rng.uniform(0.1, 0.95) * n)
        width = int(rng.integers(1, 4))
        level = np.median(np.abs(y[max(0, p - 20) : p + 20]))
        ratio = rng.uniform(2.5, 30.0)
        y[p : p + width] = y[p : p + width] + (ratio - 1) * level
        return {("spike", key)}, {("spike", key): int(steps[p + int(np.argmax(y[p : p + width]))])}, f"x{ratio:.1f}"
    if kind == "nan":
        p = int(rng.uniform(0.05, 0.98) * n)
        mode = rng.choice(["one", "rest", "inf", "grad"])
        if mode == "grad":
            parts["grad"][p:] = np.nan
            return {("nan", "grad_norm")}, {("nan", "grad_norm"): int(steps[p])}, "grad"
        if mode == "one":
            y[p] = np.nan
        elif mode == "rest":
            y[p:] = np.nan
        else:
            y[p] = np.inf
        return {("nan", key)}, {("nan", key): int(steps[p])}, str(mode)
    if kind == "divergence":
        p = int(rng.uniform(0.3, 0.85) * n)
        best = np.median(y[max(0, p - 20) : p])
        span = max(abs(y[: max(1, n // 50)].mean() - best), abs(best))
        height = span * rng.uniform(0.7, 20.0)
        ramp = np.clip((np.arange(n - p)) / max(1, rng.integers(1, max(2, n // 50))), 0, 1)
        y[p:] = y[p:] + height * ramp * (1 + 0.05 * rng.standard_normal(n - p))
        return {("divergence", key)}, {}, f"+{height / span:.1f} spans"
    if kind == "overfitting":
        vidx = parts["vidx"]
        tv = parts["t"][vidx]
        turn = rng.uniform(0.3, 0.7)
        vcl = parts["val_clean"]
        base = vcl[np.searchsorted(tv, turn)]
        rise = rng.uniform(0.03, 0.5) * (vcl[0] - base)
        vc = np.where(tv < turn, vcl, base + rise * (tv - turn) / (1 - turn))
        noise = parts["val"] - vcl
        parts["val"] = vc + noise
        # training keeps improving after the turn (that is what makes it overfitting)
        t = parts["t"]
        drift = rng.uniform(0.03, 0.1) * np.abs(parts["clean"]).mean()
        parts["train"] = parts["train"] - drift * np.clip(t - turn, 0, None) / (1 - turn)
        return {("overfitting", parts["val_key"])}, {}, f"rise {rise:.3g}"
    if kind == "plateau":
        mode = rng.choice(["chance", "stall"])
        if mode == "chance":
            k = int(rng.choice([2, 10, 100, 1000]))
            c = math.log(k)
            parts["train"] = c + 0.01 * c * rng.standard_normal(n)
            parts["val"] = c + 0.003 * c * rng.standard_normal(parts["vidx"].size)
            parts.pop("acc", None)
            return {("plateau", key), ("plateau", parts["val_key"])}, {}, f"ln {k}"
        p = rng.uniform(0.2, 0.62)
        t = parts["t"]
        l0 = rng.uniform(2, 8)
        slope = l0 * rng.uniform(0.5, 0.8) / p
        clean = np.where(t < p, l0 - slope * t, l0 - slope * p)
        sigma = rng.uniform(0.003, 0.03)
        parts["train"] = clean + sigma * np.abs(clean) * rng.standard_normal(n)
        vidx = parts["vidx"]
        parts["val"] = clean[vidx] * 1.05 + 0.002 * rng.standard_normal(vidx.size)
        parts.pop("acc", None)
        return {("plateau", key), ("plateau", parts["val_key"])}, {}, f"stall at {p:.2f}"
    if kind == "gradient":
        p = int(rng.uniform(0.2, 0.85) * n)
        g = parts["grad"]
        r = rng.random()
        if r < 0.45:
            factor = 10 ** rng.uniform(1.2, 3.0)
            g[p:] *= factor
            note = f"explode x{factor:.0f}"
        elif r < 0.65:  # a burst: a few steps far above the running level
            factor = 10 ** rng.uniform(1.7, 3.0)
            g[p : p + int(rng.integers(1, 4))] *= factor
            note = f"burst x{factor:.0f}"
        else:
            g[p:] *= 10 ** (-rng.uniform(4, 8)) * np.exp(-np.arange(n - p) / max(1, n // 20))
            note = "vanish"
        return {("gradient", "grad_norm")}, {}, note
    if kind == "throughput":
        if "tp" not in parts and n >= 200 and rng.random() < 0.5:  # no logged rate: the slowdown is in the clock
            p = int(rng.uniform(0.2, 0.85) * n)
            frac = rng.uniform(0.1, 0.55)
            parts["dt"][p:] /= frac
            return {("throughput", "steps_per_sec")}, {}, f"clock x{frac:.2f}"
        if "tp" not in parts:
            parts["tp"] = rng.uniform(500, 50000) * np.exp(0.05 * rng.standard_normal(n))
        p = int(rng.uniform(0.2, 0.85) * n)
        frac = rng.uniform(0.1, 0.55)
        parts["tp"][p:] *= frac
        return {("throughput", "tokens_per_sec")}, {}, f"x{frac:.2f}"
    raise ValueError(kind)


def make_corpus(
    seed: int = 0, healthy: int = 400, per_kind: int = 60, sizes: tuple[int, ...] = (60, 200, 1000, 5000, 20000)
) -> list[Case]:
    """``healthy`` healthy runs plus ``per_kind`` runs per kind, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    for i in range(healthy):
        shape = SHAPES[i % len(SHAPES)]
        parts = healthy_parts(rng, shape, int(rng.choice(sizes)))
        cases.append(Case(build(f"healthy-{i}", parts), set(), shape, "healthy"))
    for kind in KINDS:
        for i in range(per_kind):
            shape = SHAPES[i % (len(SHAPES) - 1)]  # RL runs carry no val/grad/tp parts
            parts = healthy_parts(rng, shape, int(rng.choice(sizes)))
            labels, at, note = inject(rng, kind, parts)
            cases.append(Case(build(f"{kind}-{i}", parts), labels, shape, kind, note, at))
    return cases
