"""A seeded fuzz campaign over every reader, longer than the test suite's bounded one.

    .venv/bin/python benchmarks/fuzz.py --minutes 5 [--seed 0] [--timeout 10]

Pristine logs are made once (a real offline W&B run, a legacy W&B history, JSONL, CSV, an HF
``trainer_state.json``, a Lightning ``metrics.csv``, a TensorBoard event file), then each case
damages one of them with a seeded mutator and reads the folder the way the front ends do:
the catalog walk, the reader, and the views (summary, keys, stats, history, live) rendered as
text. Each case runs in a worker process with a time limit.

Counted per reader:

* crash: any exception other than ``runwise_core.errors.RunwiseError`` escaping the catalog,
  a reader or a view;
* hang: a case over its time limit (the worker is killed and replaced);
* wrong: a value read that differs from the pristine file's value at the same position, or
  data missing without a note (checked where the truth is known: ``.wandb``, legacy history
  and JSONL, with the oracles of ``tests/test_fuzz_support.py``; not for a ``.wandb`` record
  forged with a matching checksum, which no reader can tell from a real one);
* clear error: a ``RunwiseError`` (a refusal with a message), which is allowed.

Half of the cases read through the on-disk cache as a live log is read: a prefix of the
damaged file (cut anywhere) is written and read first, then the rest, so the last read
resumes from the cache entry.

Exit status 1 when any crash, hang or wrong value was seen. The mutators are those of the
tests; a failing case prints its reader and seed, and ``--replay READER:SEED`` reruns it
(for ``.wandb`` cases, with the same ``--pristine DIR``: that log is written by a fresh
wandb run, whose bytes differ from run to run).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from test_fuzz_support import (LINE_MUTATIONS, WANDB_FORGED, WANDB_MUTATIONS, assert_jsonl_read,  # noqa: E402
                               assert_wandb_prefix, chunk_offsets, clean_cut_lengths, jsonl_case, write_tree)

READERS = ("wandb", "wandb-legacy", "jsonl", "csv", "hf-trainer", "lightning-csv", "tensorboard")


# -- pristine material --------------------------------------------------------------------------------

def make_pristine(work: Path) -> dict:
    """Write one pristine log per reader under ``work``; returns what the cases need."""
    from runwise_core.catalog import Catalog
    from wandb_runs import make_run

    if not (work / "wandb-src" / "wandb").is_dir():  # (kept from an earlier run with --pristine)
        make_run(work / "wandb-src", "finished")
    folder = next((work / "wandb-src" / "wandb").glob("offline-run-*"))
    log = next(folder.glob("*.wandb"))
    data = log.read_bytes()
    state = {"global_step": 40, "max_steps": 40, "log_history": [
        {"loss": round(2.0 / (i + 1), 5), "learning_rate": 1e-4, "epoch": i / 10, "step": i} for i in range(1, 41)]
        + [{"eval_loss": 0.9, "epoch": 4.0, "step": 40}]}
    p = {
        "wandb_folder": str(folder), "wandb_log": log.name, "wandb_data": data.hex(),
        "csv": "".join(["step,loss,acc\n"] + [f"{i},{2.0 / (i + 1)!r},{i / 50!r}\n" for i in range(50)]),
        "hf": json.dumps(state, indent=2),
        "lightning": "".join(["epoch,step,train_loss,val_loss\n"]
                             + [f"{i // 10},{i},{1.0 / (i + 1)!r},{'' if i % 10 else 0.5}\n" for i in range(50)]),
        "tb": None,
    }
    full = Catalog([folder]).runs()[0]
    assert full.rows == 200 and not full.read_notes
    tb_src = work / "tb-src"
    if not tb_src.is_dir():  # (kept from an earlier run with --pristine)
        try:
            import tensorboardX
        except ImportError:
            return p
        writer = tensorboardX.SummaryWriter(str(tb_src))
        for step in range(30):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
            writer.add_scalar("acc", step / 30, step)
            if step % 10 == 0:  # the other record kinds a real log holds
                writer.add_histogram("weights", [0.1 * step, 0.2, 0.3, 0.4], step)
                writer.add_text("note", f"step {step}", step)
        writer.close()
    p["tb"] = next(f for f in tb_src.iterdir() if f.is_file()).read_bytes().hex()
    return p


# -- one case -----------------------------------------------------------------------------------------

def byte_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A generic damage for formats without a truth oracle."""
    d = bytearray(data)
    kind = rng.choice(["cut", "flip", "insert", "zero_run", "duplicate", "garbage_tail", "empty"])
    n = max(len(d), 1)
    if kind == "cut":
        return bytes(d[:rng.randrange(n)]), kind
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            if d:
                d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
        return bytes(d), kind
    if kind == "insert":
        at = rng.randrange(n)
        return bytes(d[:at]) + rng.randbytes(rng.randint(1, 64)) + bytes(d[at:]), kind
    if kind == "zero_run":
        at = rng.randrange(n)
        d[at:at + rng.randint(1, 256)] = bytes(len(d[at:at + 256]))[:len(d[at:at + rng.randint(1, 256)])]
        return bytes(d), kind
    if kind == "duplicate":
        a = rng.randrange(n)
        b = min(len(d), a + rng.randint(1, 500))
        return bytes(d[:b]) + bytes(d[a:b]) + bytes(d[b:]), kind
    if kind == "garbage_tail":
        return bytes(d) + rng.randbytes(rng.randint(1, 300)), kind
    return b"", kind


def exercise(runs) -> None:
    """The views and the text rendering over each run; RunwiseError is a clear refusal."""
    from runwise_core import views
    from runwise_core.errors import RunwiseError
    from runwise_core.render import render

    for run in runs:
        for view in (lambda r: views.run_view(r), views.keys_view, views.stats_view,
                     lambda r: views.history_view(r, None, 20), views.live_view):
            try:
                render(view(run), "text", 2000)
            except RunwiseError:
                pass
        for series in run.metrics.values():
            assert series.steps.dtype.kind == "i" and series.values.dtype.kind == "f"
            assert series.steps.size == 0 or bool((series.steps[1:] >= series.steps[:-1]).all())


def run_case(reader: str, seed: int, p: dict, scratch: Path) -> tuple[str, str]:
    """("ok" | "error" | "wrong" | "crash", detail) for one seeded case."""
    from runwise_core.catalog import Catalog
    from runwise_core.errors import RunwiseError
    from runwise_core.sources import metric_log

    from runwise_core.cache import RunCache, using

    rng = random.Random(f"{reader}:{seed}")
    case_dir = scratch / f"{reader}-{seed}"
    what = f"{reader}:{seed}"
    cache_dir = scratch / f"cache-{reader}-{seed}"
    cache = RunCache(cache_dir) if rng.random() < 0.5 else None

    def grown(path: Path, data: bytes, read):
        """Write ``data`` at ``path`` and return ``read()``. With a cache, a prefix cut anywhere
        is written and read first (filling the cache), then the rest, so the last read
        resumes from the cache as it does for a log still being written."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if cache is None:
            path.write_bytes(data)
            return read()
        first = rng.randrange(len(data) + 1)
        path.write_bytes(data[:first])
        try:
            read()
        except RunwiseError:
            pass
        with open(path, "ab") as f:
            f.write(data[first:])
        return read()

    def load_file(path: Path):
        with using(cache):
            return metric_log.load_file(path)

    try:
        try:
            if reader == "wandb":
                data = bytes.fromhex(p["wandb_data"])
                offsets = p.setdefault("_offsets", chunk_offsets(data))
                clean = p.setdefault("_clean", clean_cut_lengths(data))
                if "_full" not in p:
                    p["_full"] = Catalog([Path(p["wandb_folder"])]).runs()[0]
                kinds = [rng.choice(WANDB_MUTATIONS + WANDB_FORGED)
                         for _ in range(rng.choice([1, 1, 1, 2, 3]))]  # sometimes several damages at once
                damaged = data
                for kind in kinds:
                    damaged = _mutate_wandb(damaged, offsets, kind, rng)
                run_dir = case_dir / Path(p["wandb_folder"]).name
                shutil.copytree(p["wandb_folder"], run_dir)
                runs = grown(run_dir / p["wandb_log"], damaged, lambda: Catalog([run_dir], cache=cache).runs())
                what += f" ({', '.join(kinds)})"
                try:
                    if not set(kinds) & set(WANDB_FORGED):  # a forged record may hold other values
                        assert_wandb_prefix(runs[0], p["_full"], what,
                                            damaged == data[:len(damaged)] and len(damaged) in clean)
                except AssertionError as e:
                    return "wrong", str(e)
                exercise(runs)
            elif reader in ("jsonl", "wandb-legacy"):
                kinds = [(rng.choice(LINE_MUTATIONS) if rng.random() < 0.3 else "keep", rng.randrange(10_000))
                         for _ in range(rng.randint(1, 40))]
                cut = rng.randrange(300) if rng.random() < 0.3 else None
                huge = rng.random() < 0.01
                legacy = reader == "wandb-legacy"
                case = jsonl_case(kinds, cut, huge, step_key="_step" if legacy else "step", bom_anywhere=legacy,
                                  wandb_times=legacy)
                if legacy:
                    folder = case_dir / "wandb" / "run-20240101_000000-legacy1"
                    write_tree(folder, {"wandb-metadata.json": b'{"state": "finished"}'})
                    runs = grown(folder / "wandb-history.jsonl", case.data, lambda: Catalog([folder], cache=cache).runs())
                else:
                    runs = grown(case_dir / "metrics.jsonl", case.data, lambda: load_file(case_dir / "metrics.jsonl"))
                try:
                    assert len(runs) == 1, f"{len(runs)} runs"
                    assert_jsonl_read(runs[0], case, what, keep=None if legacy else 5)
                except AssertionError as e:
                    return "wrong", str(e)[:300]
                exercise(runs)
            else:
                name, pristine = {
                    "csv": ("logs/train.csv", p["csv"].encode()),
                    "hf-trainer": ("out/trainer_state.json", p["hf"].encode()),
                    "lightning-csv": ("lightning_logs/version_0/metrics.csv", p["lightning"].encode()),
                    "tensorboard": ("runs/exp/events.out.tfevents.1700000000.host.1.0", bytes.fromhex(p["tb"] or "")),
                }[reader]
                damaged, kind = byte_mutation(pristine, rng)
                what += f" ({kind})"
                if reader == "csv":
                    runs = grown(case_dir / name, damaged, lambda: load_file(case_dir / name))
                else:
                    def read_all():
                        cat = Catalog([case_dir], cache=cache)
                        return [cat.load(ref) for ref in cat.refs()]

                    runs = grown(case_dir / name, damaged, read_all)
                exercise(runs)
        except RunwiseError as e:
            msg = str(e)
            if not msg or "\n" in msg.strip():
                return "wrong", f"{what}: an error message that is empty or several lines: {msg!r}"
            return "error", msg[:200]
        return "ok", ""
    except Exception:  # the campaign counts it: this is what it looks for
        return "crash", f"{what}: {traceback.format_exc(limit=6)}"
    finally:
        shutil.rmtree(case_dir, ignore_errors=True)
        shutil.rmtree(cache_dir, ignore_errors=True)


def _mutate_wandb(data: bytes, offsets: list[int], kind: str, rng: random.Random) -> bytes:
    from test_fuzz_support import mutate_wandb

    return mutate_wandb(data, offsets, kind, rng.randrange(2**31), rng.randrange(2**31))


# -- workers ------------------------------------------------------------------------------------------

def worker(conn, p: dict, scratch: str) -> None:
    os.environ.setdefault("RUNWISE_NO_CACHE", "1")
    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(run_case(job[0], job[1], p, Path(scratch)))


class Pool:
    """One worker process, replaced when a case outlives its time limit."""

    def __init__(self, p: dict, scratch: Path, timeout: float) -> None:
        self.p, self.scratch, self.timeout = p, scratch, timeout
        self.ctx = mp.get_context("fork")
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=worker, args=(child, self.p, str(self.scratch)), daemon=True)
        self.proc.start()

    def run(self, reader: str, seed: int) -> tuple[str, str]:
        self.conn.send((reader, seed))
        if self.conn.poll(self.timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass
            self._restart()
            return "crash", f"{reader}:{seed}: the worker died"
        self._restart()
        return "hang", f"{reader}:{seed}: no answer in {self.timeout:g} s"

    def _restart(self) -> None:
        self.proc.kill()
        self.proc.join()
        self._start()

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join(5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0, help="how long to fuzz (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="first case seed (cases are seed, seed+1, ...)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds one case may take (default 10)")
    ap.add_argument("--readers", default=",".join(READERS), help="comma-separated subset of: " + ", ".join(READERS))
    ap.add_argument("--replay", metavar="READER:SEED", help="run one case in this process and print its outcome")
    ap.add_argument("--pristine", metavar="DIR", help="keep the pristine logs in DIR (made on first use): the "
                    ".wandb one comes from a fresh wandb run, so a wandb seed replays exactly only with the same DIR")
    args = ap.parse_args(argv)
    keep = Path(args.pristine).resolve() if args.pristine else None
    work = keep or Path(tempfile.mkdtemp(prefix="runwise-fuzz-"))
    try:
        work.mkdir(parents=True, exist_ok=True)
        print(f"pristine logs in {work} ...", file=sys.stderr)
        p = make_pristine(work)
        scratch = work / "cases"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        if args.replay:
            reader, seed = args.replay.rsplit(":", 1)
            print(run_case(reader, int(seed), p, scratch))
            return 0
        readers = [r for r in args.readers.split(",") if r]
        if p["tb"] is None and "tensorboard" in readers:
            readers.remove("tensorboard")
            print("tensorboardX not installed: the tensorboard reader is not fuzzed", file=sys.stderr)
        pool = Pool(p, scratch, args.timeout)
        counts: dict[str, Counter] = {r: Counter() for r in readers}
        failures: list[str] = []
        start = time.monotonic()
        deadline = start + args.minutes * 60
        seed = args.seed
        while time.monotonic() < deadline:
            for reader in readers:
                outcome, detail = pool.run(reader, seed)
                counts[reader][outcome] += 1
                if outcome in ("crash", "hang", "wrong") and len(failures) < 20:
                    failures.append(f"[{outcome}] {detail.strip()}")
            seed += 1
        pool.close()
        elapsed = time.monotonic() - start
    finally:
        shutil.rmtree(work if keep is None else work / "cases", ignore_errors=True)
    print(f"runwise fuzz campaign: seeds {args.seed}-{seed - 1}, {elapsed / 60:.1f} min, per-case limit "
          f"{args.timeout:g} s, Python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"{'reader':<14} {'cases':>7} {'read':>7} {'refused':>8} {'crashes':>8} {'hangs':>6} {'wrong':>6}")
    total = Counter()
    for reader, c in counts.items():
        n = sum(c.values())
        total.update(c)
        print(f"{reader:<14} {n:>7,} {c['ok']:>7,} {c['error']:>8,} {c['crash']:>8} {c['hang']:>6} {c['wrong']:>6}")
    print(f"{'all':<14} {sum(total.values()):>7,} {total['ok']:>7,} {total['error']:>8,} {total['crash']:>8} "
          f"{total['hang']:>6} {total['wrong']:>6}")
    for line in failures:
        print(line)
    return 1 if total["crash"] or total["hang"] or total["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
