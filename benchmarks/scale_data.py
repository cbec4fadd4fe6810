"""Generate the data the scale benchmark reads, once: real wandb runs, cached in ``.data/``.

* ``wandb/offline-run-*-scale1m``: a real 1M-step run written by the installed wandb in
  offline mode, 4 metrics every step and ``val/loss`` every 1,000 steps (~5 metrics), with
  NaN, +Inf and a loss spike in it, exactly as a training script would log them.
* ``legacy/wandb/run-20200101_000000-scalejsonl``: the same rows as a legacy
  ``wandb-history.jsonl`` (what wandb 0.9 wrote, and what runwise 0.4.0 reads).
* ``small/wandb/``: 20 small offline runs, for the start-up (``runwise list``) timing.

Generating the 1M-step run takes minutes (wandb.log costs ~150 us a call), which is why it
is cached and never part of the test command. Values are a pure function of the step, so the
binary and the JSONL runs hold the same numbers.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"
STEPS = 1_000_000
VAL_EVERY = 1_000
NAN_STEPS = frozenset({123_457, 654_321, 999_000})
INF_STEP = 500_001
SPIKE_STEP = 777_777


def row(i: int) -> dict[str, float]:
    """The metrics logged at step ``i`` (deterministic, no RNG state to share)."""
    h = ((i * 2654435761) % 2**32) / 2**32  # a cheap hash in [0, 1): noise without numpy
    loss = 2.5 * math.exp(-i / 200_000) + 0.3 + 0.05 * (h - 0.5)
    if i == SPIKE_STEP:
        loss *= 40.0
    if i in NAN_STEPS:
        loss = float("nan")
    grad = 0.5 + h
    if i == INF_STEP:
        grad = float("inf")
    out = {
        "train/loss": loss,
        "train/lr": 3e-4 * 0.5 * (1 + math.cos(math.pi * i / STEPS)),
        "train/grad_norm": grad,
        "perf/tokens_per_s": 50_000.0 + 1000.0 * h,
    }
    if i % VAL_EVERY == 0:
        out["val/loss"] = 2.6 * math.exp(-i / 200_000) + 0.35
    return out


def wandb_run_dir(root: Path, run_id: str) -> Path | None:
    folders = sorted((root / "wandb").glob(f"offline-run-*-{run_id}")) if (root / "wandb").is_dir() else []
    return folders[0] if folders else None


def generate_wandb(root: Path, run_id: str, steps: int) -> Path:
    """A finished offline wandb run of ``steps`` rows under ``root/wandb`` (kept if present)."""
    done = wandb_run_dir(root, run_id)
    if done is not None and (done / ".complete").exists():
        return done
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb

    root.mkdir(parents=True, exist_ok=True)
    run = wandb.init(dir=str(root), project="runwise-scale", id=run_id, name=f"scale-{steps}",
                     config={"max_steps": steps, "lr": 3e-4, "batch_size": 256})
    started = time.time()
    for i in range(steps):
        run.log(row(i), step=i)
        if i and i % 100_000 == 0:
            print(f"  {run_id}: {i:,} steps, {time.time() - started:.0f} s", file=sys.stderr)
    run.finish()
    folder = wandb_run_dir(root, run_id)
    assert folder is not None, "wandb wrote no run folder"
    (folder / ".complete").write_text("ok\n")
    return folder


def generate_jsonl(root: Path, steps: int) -> Path:
    """The same rows as a legacy W&B folder with ``wandb-history.jsonl`` (kept if present)."""
    folder = root / "wandb" / "run-20200101_000000-scalejsonl"
    files = folder / "files"  # where wandb 0.9 put them, and where runwise 0.4.0 looks
    history = files / "wandb-history.jsonl"
    if (folder / ".complete").exists():
        return folder
    files.mkdir(parents=True, exist_ok=True)
    start = 1_577_836_800.0
    with open(history, "w") as f:
        for i in range(steps):
            r = row(i)
            r.update({"_step": i, "_runtime": round(i * 0.01, 3), "_timestamp": start + i * 0.01})
            f.write(json.dumps(r) + "\n")  # json.dumps writes NaN / Infinity, as wandb 0.9 did
    last = row(steps - 1)
    (files / "wandb-summary.json").write_text(json.dumps({**last, "_step": steps - 1}))
    (files / "wandb-metadata.json").write_text(json.dumps({
        "name": f"scale-jsonl-{steps}", "project": "runwise-scale", "state": "finished", "exitcode": 0,
        "startedAt": "2020-01-01T00:00:00", "heartbeatAt": "2020-01-03T00:00:00"}))
    (files / "config.yaml").write_text(f"max_steps:\n  value: {steps}\nlr:\n  value: 0.0003\n")
    (folder / ".complete").write_text("ok\n")
    return folder


def generate_small(root: Path, count: int = 20, steps: int = 200) -> Path:
    """``count`` small finished offline runs (for the start-up and ``list`` timings)."""
    for n in range(count):
        generate_wandb(root, f"small{n:02d}", steps)
    return root


def main() -> None:
    which = sys.argv[1:] or ["jsonl", "small", "wandb"]
    if "jsonl" in which:
        print(generate_jsonl(DATA / "legacy", STEPS))
    if "small" in which:
        print(generate_small(DATA / "small"))
    if "wandb" in which:
        print(generate_wandb(DATA / "big", "scale1m", STEPS))


if __name__ == "__main__":
    main()
