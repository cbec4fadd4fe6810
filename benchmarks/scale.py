"""Scale benchmark: a 1M-step run, cold and warm, as whole processes; prints a markdown table.

    python benchmarks/scale.py               # generates the data once (minutes), then times
    python benchmarks/scale.py --repeat 5    # more repetitions (medians are reported)
    python benchmarks/scale.py --rw040 /tmp/rw040/bin/runwise   # runwise 0.4.0 beside us

Every number is a whole process (``runwise ...`` started with this venv's Python): the median
and the fastest of ``--repeat`` runs, the median CPU time (user + system, worker processes
included: on a loaded machine it says more than the wall time), and the largest peak RSS
among them (all processes of one command summed: a big read runs on several).
"Cold" starts with an empty cache folder (``RUNWISE_CACHE_DIR``); "warm" with the cache that a
first read filled; "growth" appends the last ~10,000 rows to a log read before and times the
next ``runwise keys`` (a view that costs next to nothing, so the row shows the read: compare
it with the warm ``keys`` row, which reads nothing). The MCP rows time tool calls through one
``runwise-mcp`` process after a first call (what an agent's second question costs).
runwise 0.4.0 (PyPI, installed in a separate venv) runs on the JSONL copy of the same data:
it cannot read ``.wandb`` files.

The data (``benchmarks/.data/``, git-ignored) comes from :mod:`scale_data`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import scale_data  # noqa: E402

DATA = scale_data.DATA
PY = sys.executable
BIG_ID, JSONL_ID = "scale1m", "scalejsonl"
KEY = "train/loss"
GROW_ROWS = 10_000


TIME = shutil.which("time") or "/usr/bin/time"


def run_rss(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int, str, float]:
    """Run ``argv``; wall seconds, peak RSS in MB, stdout, and CPU seconds (user + system).

    The CPU time comes from GNU ``time -f`` wrapped around the command (it counts the worker
    processes a big read starts: they are waited for). The RSS is the larger of GNU time's
    ``%M`` (the largest single process) and the peak of the *sum* over the process and its
    children, sampled every 50 ms from ``/proc``: a read split over worker processes holds
    memory in all of them at once.
    """
    out_path, rss_path = DATA / ".bench-stdout", DATA / ".bench-rss"
    wrapped = [TIME, "-f", "%M %U %S", "-o", str(rss_path), *argv] if Path(TIME).exists() else argv
    start = time.perf_counter()
    with open(out_path, "wb") as out, open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=out, stderr=devnull)
        peaks: list[int] = []
        sampler = threading.Thread(target=lambda: peaks.append(_sample_tree_rss(proc)), daemon=True)
        sampler.start()
        code = proc.wait()
        wall = time.perf_counter() - start  # taken at the exit, not at the sampler's next tick
        sampler.join()
    tree_peak = peaks[0] if peaks else 0
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(argv)}")
    try:
        max_kb, user, system = rss_path.read_text().split()[-3:]
        rss, cpu = int(max_kb) // 1024, float(user) + float(system)
    except (OSError, ValueError, IndexError):
        rss, cpu = 0, 0.0
    return wall, max(rss, tree_peak), out_path.read_text(errors="replace"), cpu


def _sample_tree_rss(proc: subprocess.Popen) -> int:
    """Peak MB of the summed RSS of ``proc`` and its descendants until it exits (Linux
    ``/proc``; 0 elsewhere)."""
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    return peak >> 20


def _tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and all its descendants, from ``/proc`` (each process's
    ``task/*/children`` names its children: no scan of every process)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


def timed(label: str, argv: list[str], env: dict[str, str], repeat: int, before=None,
          cwd: Path | None = None) -> dict:
    """Median wall time of ``repeat`` runs (``before()`` runs untimed before each)."""
    walls, rss, cpus = [], [], []
    out = ""
    for _ in range(repeat):
        if before is not None:
            before()
        wall, peak, out, cpu = run_rss(argv, env, cwd)
        walls.append(wall)
        rss.append(peak)
        cpus.append(cpu)
    row = {"label": label, "median_s": statistics.median(walls), "min_s": min(walls), "rss_mb": max(rss),
           "cpu_s": statistics.median(cpus), "n": repeat, "out_chars": len(out)}
    print(f"  {label}: {row['median_s']:.3f} s (min {row['min_s']:.3f}, n={repeat}), peak {row['rss_mb']} MB",
          file=sys.stderr, flush=True)
    return row


def env_with(cache: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RUNWISE_NO_CACHE", None)
    if cache is None:
        env["RUNWISE_NO_CACHE"] = "1"
    else:
        env["RUNWISE_CACHE_DIR"] = str(cache)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def fresh(folder: Path):
    def clear() -> None:
        shutil.rmtree(folder, ignore_errors=True)
    return clear


def runwise(*args: str) -> list[str]:
    return [PY, "-m", "runwise", *args]


# -- growth ------------------------------------------------------------------------------------
def record_boundary_before_last_rows(log: Path, rows: int) -> int:
    """The offset of a record boundary ~``rows`` history rows before the end of ``log``."""
    from runwise_core.sources.wandb_framing import HEADER, ReadReport, field_number, iter_batches

    report = ReadReport(log)
    history_ends: list[int] = []
    for batch in iter_batches(log, report, HEADER):
        # One boundary per block is enough to land ~rows rows before the end.
        history_ends.append(report.end_offset)
        del batch
    size = log.stat().st_size
    per_row = size / 1_000_000
    target = size - rows * per_row
    return max(e for e in history_ends if e <= target)


def growth_wandb(env: dict[str, str], repeat: int) -> dict:
    src = next((DATA / "big" / "wandb").glob(f"offline-run-*-{BIG_ID}"))
    work = DATA / "grow-wandb" / "wandb" / src.name
    cut = record_boundary_before_last_rows(next(src.glob("*.wandb")), GROW_ROWS)
    data_log = next(src.glob("*.wandb"))
    walls, rss = [], []
    for _ in range(repeat):
        shutil.rmtree(DATA / "grow-wandb", ignore_errors=True)
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("*.wandb"))
        log = work / data_log.name
        with open(data_log, "rb") as f, open(log, "wb") as out:
            out.write(f.read(cut))
        run_rss(runwise("run", BIG_ID, "--dir", str(DATA / "grow-wandb")), env)  # fills the cache
        with open(data_log, "rb") as f, open(log, "ab") as out:
            f.seek(cut)
            shutil.copyfileobj(f, out)
        wall, peak, _, _ = run_rss(runwise("keys", BIG_ID, "--dir", str(DATA / "grow-wandb")), env)
        walls.append(wall)
        rss.append(peak)
    row = {"label": f"growth: runwise keys after +{GROW_ROWS:,} rows ({(data_log.stat().st_size - cut) / 1e6:.1f} MB) of the .wandb",
           "median_s": statistics.median(walls), "min_s": min(walls), "rss_mb": max(rss), "n": repeat}
    print(f"  {row['label']}: {row['median_s']:.3f} s", file=sys.stderr, flush=True)
    return row


def growth_jsonl(env: dict[str, str], repeat: int) -> dict:
    src = DATA / "legacy" / "wandb" / "run-20200101_000000-scalejsonl"
    history = src / "files" / "wandb-history.jsonl"
    size = history.stat().st_size
    with open(history, "rb") as f:
        f.seek(size - GROW_ROWS * 230)
        f.readline()
        cut = f.tell()
    walls, rss = [], []
    for _ in range(repeat):
        root = DATA / "grow-jsonl"
        shutil.rmtree(root, ignore_errors=True)
        work = root / "wandb" / src.name
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("wandb-history.jsonl"))
        target = work / "files" / "wandb-history.jsonl"
        with open(history, "rb") as f, open(target, "wb") as out:
            out.write(f.read(cut))
        run_rss(runwise("run", JSONL_ID, "--dir", str(root)), env)
        with open(history, "rb") as f, open(target, "ab") as out:
            f.seek(cut)
            shutil.copyfileobj(f, out)
        wall, peak, _, _ = run_rss(runwise("keys", JSONL_ID, "--dir", str(root)), env)
        walls.append(wall)
        rss.append(peak)
    with open(history, "rb") as f:
        f.seek(cut)
        rows = sum(1 for _ in f)
    row = {"label": f"growth: runwise keys after +{rows:,} rows of the JSONL", "median_s": statistics.median(walls),
           "min_s": min(walls), "rss_mb": max(rss), "n": repeat}
    print(f"  {row['label']}: {row['median_s']:.3f} s", file=sys.stderr, flush=True)
    return row


# -- MCP ---------------------------------------------------------------------------------------
async def _mcp_calls(root: Path, env: dict[str, str], repeat: int) -> list[dict]:
    from mcp import Client, StdioServerParameters

    server_env = dict(env, RUNWISE_ROOT=str(root))
    params = StdioServerParameters(command=PY, args=["-m", "runwise.server"], env=server_env, cwd=str(root))
    rows = []
    async with Client(params) as client:
        calls = [("summarize_run", {"run": BIG_ID}), ("get_history", {"run": BIG_ID, "keys": [KEY]}),
                 ("get_stats", {"run": BIG_ID, "keys": [KEY]})]
        start = time.perf_counter()
        first = await client.call_tool(*calls[0])
        assert not first.is_error, first
        first_s = time.perf_counter() - start
        rows.append({"label": "MCP first call (summarize_run, loads the run from the disk cache)",
                     "median_s": first_s, "min_s": first_s, "rss_mb": 0, "n": 1})
        for name, args in calls:
            walls = []
            for _ in range(repeat):
                start = time.perf_counter()
                result = await client.call_tool(name, args)
                walls.append(time.perf_counter() - start)
                assert not result.is_error, result
            rows.append({"label": f"MCP {name} (same server, run in memory)", "median_s": statistics.median(walls),
                         "min_s": min(walls), "rss_mb": 0, "n": repeat})
            print(f"  {rows[-1]['label']}: {rows[-1]['median_s'] * 1000:.1f} ms", file=sys.stderr, flush=True)
    return rows


# -- report ------------------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}; load average at the end {load[0]:.1f}")


def table(rows: list[dict], targets: dict[str, str]) -> str:
    out = ["| what (whole process unless MCP) | median | min | CPU | peak RSS | target |",
           "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        median = f"{r['median_s'] * 1000:.0f} ms" if r["median_s"] < 1 else f"{r['median_s']:.2f} s"
        low = f"{r['min_s'] * 1000:.0f} ms" if r["min_s"] < 1 else f"{r['min_s']:.2f} s"
        rss = f"{r['rss_mb']} MB" if r["rss_mb"] else ""
        cpu = f"{r['cpu_s']:.2f} s" if r.get("cpu_s") else ""
        out.append(f"| {r['label']} | {median} | {low} | {cpu} | {rss} | {targets.get(r['label'], '')} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per warm measurement (median)")
    parser.add_argument("--cold-repeat", type=int, default=3, help="runs per cold measurement")
    parser.add_argument("--rw040", default="/tmp/rw040/bin/runwise", help="runwise 0.4.0's executable")
    parser.add_argument("--skip", default="", help="comma-separated: cold,warm,growth,mcp,rw040,startup")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    print("data (generated once, minutes the first time):", file=sys.stderr, flush=True)
    big = scale_data.generate_wandb(DATA / "big", BIG_ID, scale_data.STEPS)
    legacy = scale_data.generate_jsonl(DATA / "legacy", scale_data.STEPS)
    small = scale_data.generate_small(DATA / "small")
    big_root, legacy_root = DATA / "big", DATA / "legacy"
    print(f"  {big} ({next(big.glob('*.wandb')).stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    print(f"  {legacy} ({(legacy / 'files' / 'wandb-history.jsonl').stat().st_size / 1e6:.0f} MB)", file=sys.stderr)

    cold_cache = DATA / "cache-cold"
    warm_cache = DATA / "cache-warm"
    cold, warm = env_with(cold_cache), env_with(warm_cache)
    rows: list[dict] = []
    targets: dict[str, str] = {}

    def add(row: dict, target: str = "") -> None:
        rows.append(row)
        targets[row["label"]] = target

    if "startup" not in skip:
        print("start-up:", file=sys.stderr)
        add(timed("runwise --help", runwise("--help"), warm, args.repeat), "<= 0.4 s")
        run_rss(runwise("list", "--dir", str(small)), warm)  # fill the cache for the small runs
        add(timed("runwise list (20 small runs, cache warm)", runwise("list", "--dir", str(small)), warm, args.repeat),
            "<= 0.4 s")
        add(timed("runwise list (20 small runs, no cache)", runwise("list", "--dir", str(small)), env_with(None),
                  args.repeat))
    if "cold" not in skip:
        print("cold (empty cache):", file=sys.stderr)
        add(timed("cold: runwise run, 1M-step .wandb", runwise("run", BIG_ID, "--dir", str(big_root)), cold,
                  args.cold_repeat, before=fresh(cold_cache)), "<= 8 s, <= 600 MB")
        add(timed("cold: runwise run, 1M-row JSONL", runwise("run", JSONL_ID, "--dir", str(legacy_root)), cold,
                  args.cold_repeat, before=fresh(cold_cache)), "<= 3 s")
    if "warm" not in skip:
        print("warm (cache filled by a first read):", file=sys.stderr)
        for root, ident, what in ((big_root, BIG_ID, ".wandb"), (legacy_root, JSONL_ID, "JSONL")):
            run_rss(runwise("run", ident, "--dir", str(root)), warm)
            add(timed(f"warm: runwise keys (load only), 1M {what}", runwise("keys", ident, "--dir", str(root)), warm,
                      args.repeat))
            add(timed(f"warm: runwise run, 1M {what}", runwise("run", ident, "--dir", str(root)), warm, args.repeat),
                "<= 0.5 s")
            add(timed(f"warm: runwise history -k {KEY}, 1M {what}",
                      runwise("history", ident, "-k", KEY, "--dir", str(root)), warm, args.repeat), "<= 0.5 s")
            add(timed(f"warm: runwise stats -k {KEY}, 1M {what}",
                      runwise("stats", ident, "-k", KEY, "--dir", str(root)), warm, args.repeat), "<= 0.5 s")
    if "growth" not in skip:
        print("growth:", file=sys.stderr)
        grow_cache = DATA / "cache-grow"
        shutil.rmtree(grow_cache, ignore_errors=True)
        add(growth_wandb(env_with(grow_cache), 2), "~ new bytes, not the file")
        add(growth_jsonl(env_with(grow_cache), args.repeat), "~ new bytes, not the file")
    if "mcp" not in skip:
        print("MCP (one server process):", file=sys.stderr)
        run_rss(runwise("run", BIG_ID, "--dir", str(big_root)), warm)
        for row in asyncio.run(_mcp_calls(big_root, warm, args.repeat)):
            add(row, "<= 50 ms" if "same server" in row["label"] else "")
    if "rw040" not in skip and Path(args.rw040).exists():
        print("runwise 0.4.0 (PyPI) on the same data as JSONL:", file=sys.stderr)
        env040 = dict(os.environ)
        for argv, label in (([args.rw040, "run", JSONL_ID], "runwise 0.4.0: run, 1M-row JSONL"),
                            ([args.rw040, "history", JSONL_ID, "-k", KEY], f"runwise 0.4.0: history -k {KEY}, 1M-row JSONL"),
                            ([args.rw040, "stats", JSONL_ID, "-k", KEY], f"runwise 0.4.0: stats -k {KEY}, 1M-row JSONL")):
            add(timed(label, argv, env040, args.cold_repeat, cwd=legacy_root))
    print()
    print(f"Machine: {machine()}")
    print()
    print(table(rows, targets))
    (DATA / "scale-results.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
