"""Real W&B runs for tests, written by the installed wandb in offline mode.

Each scenario runs in its own Python process (so a run can exit non-zero or be SIGKILLed,
as real ones are) and writes, beside the ``wandb/`` folder, a ``truth-<scenario>.json`` with
every value it logged. Tests compare what runwise reads against that record: the truth is
what the script gave wandb, not what we expect wandb to have written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r'''
import json, math, os, signal, sys, time
import wandb

scenario, root = sys.argv[1], sys.argv[2]
truth = {"rows": []}

def save():
    with open(os.path.join(root, f"truth-{scenario}.json"), "w") as f:
        json.dump(truth, f)

def log(row, **kw):
    wandb.log(row, **kw)
    truth["rows"].append(row if not kw else dict(row, _explicit_step=kw.get("step")))

if scenario == "finished":
    config = {"lr": 0.001, "model": {"layers": 4, "width": 128}, "optimizer": "adam", "max_steps": 200}
    run = wandb.init(project="rw-tests", dir=root, name="baseline-small", config=config,
                     tags=["baseline", "tiny"], notes="first try", group="sweep-a")
    truth.update(id=run.id, config=config)
    for i in range(200):
        row = {"train/loss": 2.0 * math.exp(-i / 50) + 0.01 * math.sin(i), "lr": 0.001 * min(1.0, (i + 1) / 20),
               "grad": {"norm": 1.0 + (i % 7) / 10, "max": float(i)}}
        if i % 20 == 0:
            row["val/loss"] = 2.1 * math.exp(-i / 50)
        if i == 100:
            row["train/loss"] = float("nan")
        if i == 150:
            row["lr"] = float("inf")
        if i == 151:
            row["lr"] = float("-inf")
        log(row)
        if i == 10:
            wandb.log({"weights": wandb.Histogram([1, 2, 2, 3, 3, 3])}, commit=False)
            wandb.log({"samples": wandb.Table(columns=["a"], data=[[1]]), "comment": "hello"}, commit=False)
    print("epoch 1 done")
    print("training complete")
    run.finish()
elif scenario == "failed":
    run = wandb.init(project="rw-tests", dir=root, name="will-fail")
    truth.update(id=run.id)
    for i in range(10):
        log({"loss": 1.0 / (i + 1)})
    save()
    raise RuntimeError("CUDA out of memory (simulated)")
elif scenario == "killed":
    run = wandb.init(project="rw-tests", dir=root, name="killed-run")
    truth.update(id=run.id)
    for i in range(3000):
        log({"loss": 3.0 - i * 0.0005, "acc": i / 3000})
    save()
    time.sleep(3)  # training goes on; wandb's service writes what it has buffered
    os.kill(os.getpid(), signal.SIGKILL)
elif scenario.startswith("resumed"):
    part = int(scenario[-1])
    run = wandb.init(project="rw-tests", dir=root, id="resume42", resume="allow", name="resumable")
    truth.update(id=run.id)
    for i in range(part * 50, part * 50 + 50):
        log({"loss": 10.0 - i * 0.01})
    run.finish()
elif scenario == "wide":
    run = wandb.init(project="rw-tests", dir=root, name="wide")
    truth.update(id=run.id)
    for i in range(5):
        log({f"layer_{k:03d}/act": k + i / 10 for k in range(300)})
    run.finish()
elif scenario == "live":
    run = wandb.init(project="rw-tests", dir=root, name="live-run", config={"max_steps": 2000})
    truth.update(id=run.id)
    for i in range(2000):
        log({"loss": 5.0 / (1 + i), "tokens_per_sec": 1000.0 + i % 10})
        time.sleep(0.004)
    run.finish()
elif scenario == "console":
    run = wandb.init(project="rw-tests", dir=root, name="console")
    truth.update(id=run.id)
    log({"loss": 1.0})
    for i in range(100):
        print(f"line {i}")
    sys.stdout.write("progress 10%\rprogress 50%\rprogress 100%\n")
    run.finish()
save()
'''


def wandb_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true", WANDB_CONSOLE="wrap")
    env.pop("WANDB_API_KEY", None)
    return env


def start_run(root: Path, scenario: str) -> subprocess.Popen:
    """Start ``scenario`` in the background (for reading a run while it is written)."""
    root.mkdir(parents=True, exist_ok=True)
    script = root / "_scenario.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), scenario, str(root)], env=wandb_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_run(root: Path, scenario: str) -> dict:
    """Run ``scenario`` into ``root`` (which gets a ``wandb/`` folder); return its truth."""
    root.mkdir(parents=True, exist_ok=True)
    script = root / "_scenario.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), scenario, str(root)], env=wandb_env(),
                          capture_output=True, text=True, timeout=120)
    truth_file = root / f"truth-{scenario}.json"
    if not truth_file.exists():
        raise AssertionError(f"scenario {scenario} wrote no truth (exit {proc.returncode}): {proc.stderr[-2000:]}")
    truth = json.loads(truth_file.read_text())
    truth["returncode"] = proc.returncode
    return truth


def record_ends(data: bytes) -> set[int]:
    """File offsets just past each record of an intact log (an independent walk of the chunks)."""
    ends, pos = set(), 7
    while pos < len(data):
        block_end = (pos // 32768 + 1) * 32768
        if block_end - pos < 7:
            pos = block_end
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        pos += 7 + length
        if kind in (1, 4):  # full, last
            ends.add(pos)
    return ends
