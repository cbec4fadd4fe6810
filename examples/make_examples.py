"""Write the example runs in examples/wandb/ with the installed wandb, offline.

Four small, real W&B runs (wandb writes them; runwise reads them like any other run):

* ``healthy``   - loss falls smoothly, validation every 100 steps, lr warmup + cosine decay.
* ``spiky``     - like healthy, plus a one-step loss spike at step 1,200 and a NaN at 1,750.
* ``overfit``   - training loss keeps falling, sparse validation loss turns up after step 800.
* ``crashed``   - raises after 300 steps: wandb records exit code 1.

Deterministic data (fixed seeds). Each run's console output is captured in output.log.
Run from the repository root:  .venv/bin/python examples/make_examples.py
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Fixed W&B ids (random-looking, as W&B makes them), so a rewrite keeps the ids that the
#: skill, the docs and the tests show.
RUN_IDS = {"healthy": "y46m28q0", "spiky": "lrh7m672", "overfit": "pmuilxwi", "crashed": "iu9n9v4z"}
OUT = HERE / "wandb"
STEPS = 2000


def curve(step: int, floor: float, scale: float, rate: float) -> float:
    return floor + scale * math.exp(-step / rate)


def lr_at(step: int, total: int, peak: float = 3e-4, warmup: int = 100) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(total - warmup, 1)))


def write_run(kind: str) -> None:
    """One run in this process (wandb.init once per process keeps the runs independent)."""
    import numpy as np
    import wandb

    rng = np.random.default_rng({"healthy": 1, "spiky": 2, "overfit": 3, "crashed": 4}[kind])
    config = {
        "lr": 3e-4, "batch_size": 64, "optimizer": "adamw", "model": {"layers": 4, "width": 256},
        "total_steps": STEPS, "seed": 1, "dropout": 0.1 if kind != "overfit" else 0.0,
    }
    run = wandb.init(project="runwise-examples", name=f"{kind}-baseline" if kind == "healthy" else kind,
                     id=RUN_IDS[kind],
                     dir=str(HERE), config=config, tags=[kind, "example"], group="examples",
                     notes=f"example run: {kind}", mode="offline")
    total = 300 if kind == "crashed" else STEPS
    for step in range(0, total, 5):
        loss = curve(step, 0.6, 2.2, 500) * (1 + 0.03 * rng.standard_normal())
        if kind == "overfit":
            loss = curve(step, 0.2, 2.6, 400) * (1 + 0.02 * rng.standard_normal())
        if kind == "spiky" and step == 1200:
            loss = 9.5
        if kind == "spiky" and step == 1750:
            loss = float("nan")
        row = {"train/loss": loss, "train/lr": lr_at(step, STEPS),
               "train/grad_norm": 1.5 * math.exp(-step / 900) + 0.3 + 0.05 * rng.standard_normal(),
               "perf/samples_per_sec": 820 + 15 * rng.standard_normal()}
        if step % 100 == 0:
            if kind == "overfit":
                val = 0.9 + 1.9 * math.exp(-step / 300) + (max(step - 800, 0) / 1000) ** 1.5 * 0.8
            else:
                val = curve(step, 0.7, 2.1, 520)
            row["val/loss"] = val * (1 + 0.01 * rng.standard_normal())
            row["val/acc"] = 0.95 - 0.5 * val / 3
        wandb.log(row, step=step)
        if step % 500 == 0:
            print(f"step {step}: loss {loss:.4f}")
    if kind == "crashed":
        print("RuntimeError: CUDA out of memory (simulated)")
        wandb.finish(exit_code=1)
        return
    wandb.finish()


def main() -> int:
    if len(sys.argv) == 2:
        write_run(sys.argv[1])
        return 0
    shutil.rmtree(OUT, ignore_errors=True)
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_CONSOLE="wrap",
               WANDB_DISABLE_GIT="true", WANDB_DISABLE_CODE="true")
    for kind in ("crashed", "overfit", "spiky", "healthy"):  # oldest first: healthy is "latest"
        subprocess.run([sys.executable, __file__, kind], check=True, env=env, cwd=HERE)
    # Keep the committed folder small: wandb's own debug logs say nothing about training.
    for p in OUT.rglob("*"):
        if p.is_file() and (p.name.startswith("debug") or p.suffix == ".log" and p.parent.name == "logs"):
            p.unlink()
    for link in OUT.glob("latest-run"):
        link.unlink()
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(list(OUT.glob('offline-run-*')))} runs in {OUT} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
