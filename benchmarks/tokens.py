"""Token budgets of every zoom level, measured with the real ruler on real runs.

    .venv/bin/python benchmarks/tokens.py            # prints the budget table (markdown)

What it measures, each through the real ``runwise`` CLI in a subprocess:

* the example runs in ``examples/wandb`` (real offline W&B runs);
* ten more real offline W&B runs with 20 metric keys each, written here by the installed
  wandb into a temporary folder (about 2 s per run);
* a generated 1,000,000-step JSONL metric log with a one-step spike and one NaN;
* the realdata corpus (``../shared/realdata``) when it exists.

Tokens are counted with ``../shared/tools/count_tokens.py`` (the Claude tokenizer file);
without it the script stops, since a budget table needs the real ruler.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULER_DIR = ROOT.parent / "shared" / "tools"
REALDATA = ROOT.parent / "shared" / "realdata"
N_KEYS = 20
N_RUNS = 10
ADJECTIVES = ("proud", "warm", "swift", "silent", "bright", "lively", "gentle", "bold", "calm", "eager")
NOUNS = ("sun", "river", "wave", "forest", "meadow", "cloud", "stone", "field", "lake", "star")


def write_run(folder: str, index: int) -> None:
    """One real offline W&B run with 20 keys (dense train keys, sparse val keys)."""
    import numpy as np
    import wandb

    rng = np.random.default_rng(index)
    lr = [1e-4, 3e-4, 1e-3][index % 3]
    # Names in the style W&B gives runs it was not given a name for (adjective-noun-number).
    name = f"{ADJECTIVES[index]}-{NOUNS[index]}-{index + 1}"
    run = wandb.init(project="runwise-bench", name=name, dir=folder, mode="offline",
                     config={"lr": lr, "seed": index, "batch_size": 64, "layers": 4 + index % 2})
    for step in range(0, 3000, 10):
        decay = math.exp(-step * lr * 3)
        row = {f"train/loss_{j}": (0.5 + 2 * decay) * (1 + 0.05 * rng.standard_normal()) for j in range(5)}
        row.update({"train/loss": 0.4 + 2.2 * decay, "train/lr": lr, "train/grad_norm": 1 + decay,
                    "perf/samples_per_sec": 800 + 10 * rng.standard_normal(), "perf/step_time": 0.1,
                    "train/acc": 1 - 0.6 * decay, "train/ppl": math.exp(0.4 + 2.2 * decay)})
        if step % 200 == 0:
            row.update({"val/loss": 0.6 + 2 * decay, "val/acc": 0.9 - 0.5 * decay, "val/ppl": math.exp(0.6 + 2 * decay),
                        "val/f1": 0.85 - 0.4 * decay, "val/bleu": 30 - 20 * decay, "val/loss_ema": 0.6 + 2.1 * decay,
                        "val/top5": 0.97 - 0.3 * decay})
        wandb.log(row, step=step)
    wandb.finish()


def write_big_log(path: Path, n: int = 1_000_000) -> None:
    """A 1M-step JSONL log: smooth loss, one spike (9.5 at step 500,123), one NaN at 777,777."""
    import numpy as np

    rng = np.random.default_rng(0)
    steps = np.arange(n)
    loss = 0.5 + 2 * np.exp(-steps / 2e5) + 0.02 * rng.standard_normal(n)
    loss[500_123] = 9.5
    loss[777_777] = np.nan
    with path.open("w") as f:
        for s, v in zip(steps.tolist(), loss.tolist()):
            f.write('{"step": %d, "loss": %s}\n' % (s, "NaN" if v != v else repr(v)))


def runwise(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "runwise", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, RUNWISE_DIR=""))
    if proc.returncode != 0:
        raise SystemExit(f"runwise {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def main() -> int:
    if not (RULER_DIR / "count_tokens.py").exists():
        print(f"the token ruler is not at {RULER_DIR}; this benchmark needs it", file=sys.stderr)
        return 1
    sys.path.insert(0, str(RULER_DIR))
    from count_tokens import count  # type: ignore[import-not-found]

    rows: list[tuple[str, str, int, int, str]] = []

    def measure(label: str, data: str, budget: int, args: list[str], check: str = "") -> str:
        out = runwise(*args)
        n = count(out)
        rows.append((label, data, n, budget, check))
        return out

    ex = str(ROOT / "examples")
    with tempfile.TemporaryDirectory(prefix="runwise-bench-") as tmp:
        bench = Path(tmp) / "bench"
        bench.mkdir()
        env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
        for i in range(N_RUNS):
            subprocess.run([sys.executable, __file__, "--write-run", str(bench), str(i)], check=True, env=env,
                           capture_output=True)
        big = Path(tmp) / "big.jsonl"
        write_big_log(big)
        b = str(bench)

        measure("list", "10 bench W&B runs", 250, ["list", "--dir", b])
        measure("list", "4 example runs", 250, ["list", "--dir", ex])
        measure("latest (default keys)", "bench, 20 keys", 400, ["latest", "--dir", b])
        measure("run (default keys)", "example healthy", 400, ["run", "healthy-baseline", "--dir", ex])
        measure("run with anomalies", "example spiky", 500, ["run", "spiky", "--dir", ex])
        measure("run with anomalies", "example overfit", 500, ["run", "overfit", "--dir", ex])
        measure("keys, 20 keys", "bench", 250, ["keys", "--dir", b])
        out = measure("stats, default keys", "bench", 0, ["stats", "--dir", b])
        nkeys = sum(1 for line in out.splitlines()[2:] if line.strip())
        rows[-1] = rows[-1][:3] + (30 * nkeys + 30, f"{nkeys} keys")
        measure("stats, 20 keys", "bench", 30 * 20 + 30, ["stats", "--dir", b, "-k", "*"])
        ids = [line.split()[0] for line in runwise("list", "--dir", b).splitlines()[1:3]]
        keys15 = ",".join(["train/loss", "train/lr", "train/grad_norm", "train/acc", "train/ppl", "val/loss",
                           "val/acc", "val/ppl", "val/f1", "val/bleu", "val/loss_ema", "val/top5",
                           "train/loss_0", "train/loss_1", "perf/samples_per_sec"])
        measure("compare, 15 metrics", "bench", 450, ["compare", ids[0], ids[1], "--dir", b, "-k", keys15])
        out = measure("history, 1 key, defaults", "1M-step JSONL", 3000, ["local", str(big), "--history", "-k", "loss"])
        seen = ("9.5@500123" in out or "9.5" in out) and "NaN@777777" in out
        rows[-1] = rows[-1][:4] + ("spike and NaN visible" if seen else "SPIKE/NAN MISSING",)
        for cmd in (["list"], ["latest"], ["keys"], ["stats", "-k", "*"], ["history", "-k", "train/loss"]):
            measure(f"{cmd[0]} --max-tokens 120", "bench", 120, [*cmd, "--dir", b, "--max-tokens", "120"])
        if REALDATA.exists():
            measure("list -n 10", "realdata", 250, ["list", "--dir", str(REALDATA)])
            for rid in ("kj3gdsjx", "t2wihhdg", "79u2qtit", "ohb7bv9d"):
                measure("run (default keys)", f"realdata {rid}", 500, ["run", rid, "--dir", str(REALDATA)])
            measure("keys", "realdata 79u2qtit (81 keys)", 0, ["keys", "79u2qtit", "--dir", str(REALDATA)])
            rows[-1] = rows[-1][:3] + (0, "no budget: 81 keys (budget is for 20)")

    print("| command | data | tokens | budget | |")
    print("|---|---|---:|---:|---|")
    ok_all = True
    for label, data, n, budget, note in rows:
        ok = budget == 0 or n <= budget
        ok_all &= ok
        mark = "ok" if ok else "OVER"
        print(f"| `{label}` | {data} | {n} | {budget or '-'} | {mark}{' · ' + note if note else ''} |")
    print(f"\nruler: {RULER_DIR / 'count_tokens.py'}; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} cores")
    return 0 if ok_all else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--write-run":
        write_run(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())
