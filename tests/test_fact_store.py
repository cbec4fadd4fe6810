"""Analysis answers kept on disk (runwise_core.fact_store) never change an answer.

Each test reads the same runs through a fresh catalog, as a new process would: a first
catalog computes and stores, a second one answers from the store, and both print exactly
what a catalog without any cache prints. A changed file, other code, a damaged slot, an
unwritable folder or another process writing at once cost time only; nothing is written
inside a run folder, and nothing that depends on the clock is kept.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from runwise_core import fact_store, views
from runwise_core.analysis import stored as stored_mod
from runwise_core.cache import RunCache
from runwise_core.catalog import Catalog
from runwise_core.render import render

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "wandb"


# -- helpers ------------------------------------------------------------------------------------
def write_log(path: Path, n: int = 3000, start: int = 0) -> None:
    """A JSONL training log with a spike, a NaN, a plateau-free falling loss and a rate drop."""
    with open(path, "a") as f:
        for i in range(start, start + n):
            loss = 2.0 * math.exp(-i / 800.0) + 0.3 + 0.01 * math.sin(i)
            if i == 1700:
                loss = 25.0
            row = {"step": i, "train/loss": loss if i != 1234 else float("nan"),
                   "lr": 1e-3 * (1 - i / 10_000), "grad_norm": 1.0 + 0.1 * math.cos(i),
                   "tokens_per_s": 5000.0 if i < 2000 else 1500.0}
            if i % 100 == 0:
                row["val/loss"] = loss + 0.05
            f.write(json.dumps(row) + "\n")


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A folder with the four example W&B runs and a JSONL log, copied so tests may change them."""
    root = tmp_path / "runs"
    shutil.copytree(EXAMPLES, root / "wandb")
    (root / "logs").mkdir()
    write_log(root / "logs" / "train.jsonl")
    return root


def outputs(root: Path, cache: RunCache | None) -> dict[str, str]:
    """What every analysing view prints (text and JSON) for every run, through a fresh catalog."""
    cat = Catalog([root], cache=cache)
    out: dict[str, str] = {}
    runs = cat.runs()
    for fmt in ("text", "json"):
        out[f"list {fmt}"] = render(views.list_view(runs, now=2e9), fmt, None)
    for run in runs:
        for fmt in ("text", "json"):
            out[f"run {run.id} {fmt}"] = render(views.run_view(run, now=2e9), fmt, None)
            out[f"run -k {run.id} {fmt}"] = render(views.run_view(run, run.metric_keys()[:2], now=2e9), fmt, None)
            out[f"anomalies {run.id} {fmt}"] = render(views.anomalies_view(run, now=2e9), fmt, None)
            out[f"stats {run.id} {fmt}"] = render(views.stats_view(run), fmt, None)
            out[f"history {run.id} {fmt}"] = render(views.history_view(run), fmt, None)
    return out


def log_id(root: Path) -> str:
    """The id of the JSONL log's run."""
    (ref,) = [r for r in Catalog([root], cache=None).refs() if r.source == "metric-log"]
    return ref.id


def slots(cache_root: Path) -> list[Path]:
    return sorted((cache_root / f"facts-v{fact_store.VERSION}").glob("*/*.json"))


class Computed:
    """Counts the analysis done: each stored answer that had to be computed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.questions: list[str] = []
        real = stored_mod.stored

        def counting(owner, question, compute, codec):
            return real(owner, question, lambda: self.questions.append(json.dumps(question)) or compute(), codec)

        for module in ("runwise_core.analysis.series_facts", "runwise_core.views.summary",
                       "runwise_core.views.anomalies"):
            monkeypatch.setattr(f"{module}.stored", counting)


# -- the same answers ----------------------------------------------------------------------------
def test_stored_answers_print_exactly_what_computed_answers_print(runs, tmp_path, monkeypatch):
    uncached = outputs(runs, None)
    assert any("spiked" in text for text in uncached.values())  # the data does hold findings
    cache = RunCache(tmp_path / "cache")
    computed = Computed(monkeypatch)
    first = outputs(runs, cache)
    assert computed.questions and slots(cache.root)
    computed.questions.clear()
    second = outputs(runs, cache)
    assert computed.questions == []  # every answer came from the store
    assert first == uncached
    assert second == uncached


def test_without_a_cache_nothing_is_stored(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNWISE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RUNWISE_NO_CACHE", "1")
    cat = Catalog([runs])
    views.run_view(cat.runs()[0])
    assert not (tmp_path / "cache").exists()


def test_a_catalog_with_a_fake_loader_stores_nothing(runs, tmp_path):
    real = Catalog([runs], cache=None)
    cache = RunCache(tmp_path / "cache")
    fake = Catalog([runs], cache=cache, loader=real.load, store_facts=False)
    views.run_view(fake.runs()[0])
    assert slots(cache.root) == []


# -- invalidation --------------------------------------------------------------------------------
def test_a_grown_log_is_analysed_again(runs, tmp_path, monkeypatch):
    cache = RunCache(tmp_path / "cache")
    log = runs / "logs" / "train.jsonl"
    before = outputs(runs, cache)
    write_log(log, n=500, start=3000)  # 500 more rows: the rate stays low, the loss goes on
    computed = Computed(monkeypatch)
    after = outputs(runs, cache)
    assert any("train" in q for q in computed.questions)
    assert after == outputs(runs, None)
    assert after[f"stats {log_id(runs)} text"] != before[f"stats {log_id(runs)} text"]


def test_a_rewrite_that_keeps_size_and_mtime_still_misses_the_store(runs, tmp_path, monkeypatch):
    # The readers keep their own caches by size, mtime and inode (they would hand back the old
    # decoded rows here); the store's key has the ctime too, so it never adds a stale layer.
    cache = RunCache(tmp_path / "cache")
    log = runs / "logs" / "train.jsonl"
    outputs(runs, cache)
    st = os.stat(log)
    with open(log, "r+b") as f:  # the same byte written back in place: same inode, new ctime
        first = f.read(1)
        f.seek(0)
        f.write(first)
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(log).st_size, os.stat(log).st_mtime_ns, os.stat(log).st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    computed = Computed(monkeypatch)
    assert outputs(runs, cache) == outputs(runs, None)
    assert computed.questions


def test_other_analysis_code_does_not_read_the_old_answers(runs, tmp_path, monkeypatch):
    cache = RunCache(tmp_path / "cache")
    outputs(runs, cache)
    monkeypatch.setattr(fact_store, "code_version", lambda: "another version of the detectors")
    computed = Computed(monkeypatch)
    outputs(runs, cache)
    assert computed.questions


def test_code_version_covers_the_detectors_source():
    version = fact_store.code_version()
    assert version is not None and len(version) == 64
    # the hash reads every module of the package, the detectors among them
    detectors = Path(fact_store.__file__).parent / "analysis" / "anomalies" / "spike.py"
    assert detectors.is_file()


# -- damage --------------------------------------------------------------------------------------
def _crc_line(body: bytes) -> bytes:
    import zlib

    return f"RWFACTS {fact_store.VERSION} {zlib.crc32(body):08x}\n".encode() + body


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage", "bad json", "wrong answers"])
def test_a_damaged_slot_is_ignored_and_rewritten(runs, tmp_path, damage):
    cache = RunCache(tmp_path / "cache")
    expect = outputs(runs, None)
    outputs(runs, cache)
    for slot in slots(cache.root):
        blob = slot.read_bytes()
        if damage == "flip":
            middle = len(blob) // 2
            blob = blob[:middle] + bytes([blob[middle] ^ 0x55]) + blob[middle + 1:]
        elif damage == "truncate":
            blob = blob[: len(blob) // 3]
        elif damage == "empty":
            blob = b""
        elif damage == "garbage":
            blob = os.urandom(200)
        elif damage == "bad json":
            blob = _crc_line(b'{"data": ')
        else:  # a valid file whose answers have the wrong shapes
            parsed = json.loads(blob.partition(b"\n")[2])
            parsed["answers"] = {q: {"not": "an answer"} if i % 2 else [1, "x", None]
                                 for i, q in enumerate(parsed["answers"])}
            blob = _crc_line(json.dumps(parsed).encode())
        slot.write_bytes(blob)
    assert outputs(runs, cache) == expect
    for slot in slots(cache.root):  # replaced by good slots
        assert fact_store._parse(slot.read_bytes()) is not None
    assert outputs(runs, cache) == expect


def test_an_unwritable_store_costs_time_not_answers(runs, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    cache = RunCache(blocker / "cache")
    assert outputs(runs, cache) == outputs(runs, None)


# -- where, and what ------------------------------------------------------------------------------
def test_nothing_is_written_inside_the_run_folders(runs, tmp_path):
    before = sorted((p.relative_to(runs), p.stat().st_size, p.stat().st_mtime_ns) for p in runs.rglob("*"))
    cache = RunCache(tmp_path / "cache")
    outputs(runs, cache)
    outputs(runs, cache)
    assert sorted((p.relative_to(runs), p.stat().st_size, p.stat().st_mtime_ns) for p in runs.rglob("*")) == before
    assert slots(cache.root) and all(runs not in s.parents for s in slots(cache.root))


def test_the_state_is_judged_when_asked_not_stored(tmp_path):
    log = tmp_path / "live.jsonl"
    write_log(log, n=200)
    cache = RunCache(tmp_path / "cache")
    mtime = os.stat(log).st_mtime

    def state(now: float) -> str:
        return views.run_view(Catalog([tmp_path], cache=cache).runs()[0], now=now).state.value

    first = state(mtime + 10)
    later = state(mtime + 10 * 24 * 3600)
    assert (first, later) == (state(mtime + 10), state(mtime + 10 * 24 * 3600))
    for slot in slots(cache.root):
        assert "running" not in slot.read_text() and "unknown" not in slot.read_text()


def test_prune_removes_slots_of_runs_that_are_gone(runs, tmp_path):
    cache = RunCache(tmp_path / "cache")
    outputs(runs, cache)
    count = len(slots(cache.root))
    shutil.rmtree(runs / "logs")
    assert fact_store.FactStore(cache.root).prune() == 1
    assert len(slots(cache.root)) == count - 1


def test_a_slot_keeps_a_bounded_number_of_answers(tmp_path, monkeypatch):
    monkeypatch.setattr(fact_store, "MAX_ANSWERS", 3)
    slot = fact_store.FactStore(tmp_path).slot(["s", "id"], [1], [str(tmp_path)])
    assert slot is not None
    for i in range(5):
        slot.put(f"q{i}", [i])
    fresh = fact_store.FactStore(tmp_path).slot(["s", "id"], [1], [str(tmp_path)])
    assert [fresh.get(f"q{i}") for i in range(5)] == [None, None, [2], [3], [4]]
    other = fact_store.FactStore(tmp_path).slot(["s", "id"], [2], [str(tmp_path)])  # other data
    assert other.get("q4") is None


# -- concurrency ---------------------------------------------------------------------------------
def _ask(root: str, cache_dir: str, out: str) -> None:
    texts = []
    for _ in range(6):
        cat = Catalog([Path(root)], cache=RunCache(Path(cache_dir)))
        texts.append([render(views.run_view(run, now=2e9), "json", None) for run in cat.runs()])
    Path(out).write_text(json.dumps(texts))


def test_processes_storing_at_once_agree(runs, tmp_path):
    expect = [render(views.run_view(run, now=2e9), "json", None) for run in Catalog([runs], cache=None).runs()]
    ctx = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"asker{i}.json" for i in range(3)]
    procs = [ctx.Process(target=_ask, args=(str(runs), str(tmp_path / "cache"), str(o))) for o in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    for out in outs:
        assert all(texts == expect for texts in json.loads(out.read_text()))
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


def test_float_answers_round_trip_exactly():
    from runwise_core.analysis import codecs
    from runwise_core.analysis.stats import SeriesStats

    odd = [0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, float("nan"), float("inf"), -float("inf")]
    shape = codecs.SHAPE.decode(json.loads(json.dumps(codecs.SHAPE.encode(tuple(odd)))))
    assert np.array_equal(np.array(shape), np.array(odd), equal_nan=True)
    assert math.copysign(1.0, shape[1]) == -1.0
    st = SeriesStats(3, 0, 2, -0.0, 1, 1e300, 2, 0.1 + 0.2, 0.0, float("nan"), 2, 1, 0)
    back = codecs.STATS.decode(json.loads(json.dumps(codecs.STATS.encode(st))))
    assert repr(back) == repr(st)
    with pytest.raises((TypeError, ValueError)):
        codecs.STATS.decode([1] * 13)  # a float field holding an int: not what was stored


def test_runwise_local_stores_and_reads_back_the_same_answers(tmp_path, monkeypatch, capsys):
    from runwise import cli

    log = tmp_path / "train.jsonl"
    write_log(log)
    monkeypatch.setenv("RUNWISE_CACHE_DIR", str(tmp_path / "cache"))

    def local(*args: str) -> str:
        assert cli.main(["local", str(log), *args, "--format", "json"]) == 0
        return capsys.readouterr().out

    monkeypatch.setenv("RUNWISE_NO_CACHE", "1")
    expect = [local(), local("--stats")]
    monkeypatch.delenv("RUNWISE_NO_CACHE")
    first = [local(), local("--stats")]
    assert slots(tmp_path / "cache")
    computed = Computed(monkeypatch)
    assert [local(), local("--stats")] == first == expect
    assert computed.questions == []
