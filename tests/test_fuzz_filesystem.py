"""The file system's own surprises: named pipes where logs should be, unreadable folders and
files, symlink loops, and files rewritten shorter while they are read.

Each case ends in runs read or a clear error; never a traceback, never a hang (the CLI runs
as a subprocess under a hang guard), never a value that is not in the pristine log.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from runwise_core.catalog import Catalog
from runwise_core.errors import RunwiseError
from runwise_core.sources import metric_log
from runwise_core.sources.wandb_framing import BLOCK, ReadReport, iter_batches
from test_fuzz_support import assert_wandb_prefix, write_tree
from wandb_runs import make_run

HANG_GUARD_S = 10
GOOD_LOG = b'{"step": 0, "loss": 1.0}\n{"step": 1, "loss": 0.5}\n'


def runwise(*argv: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-m", "runwise", *argv], capture_output=True, text=True,
                              timeout=HANG_GUARD_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"runwise {' '.join(argv)} hung (no answer in {HANG_GUARD_S} s)")


FIFO_PLACES = ["metrics.jsonl", "train/log.csv", "out/trainer_state.json", "out/checkpoint-10/trainer_state.json",
               "lightning_logs/version_0/metrics.csv", "runs/a/events.out.tfevents.1700000000.host.1.0",
               "wandb/offline-run-20240101_000000-fifo1/run-fifo1.wandb",
               "wandb/run-20240101_000000-fifo2/wandb-history.jsonl"]


def _fifo_tree(tmp_path: Path, place: str) -> None:
    write_tree(tmp_path, {"good/metrics.jsonl": GOOD_LOG})
    fifo = tmp_path / place
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    if place.startswith("wandb/run-"):
        (fifo.parent / "wandb-metadata.json").write_text("{}")


@pytest.mark.parametrize("place", FIFO_PLACES)
def test_a_named_pipe_where_a_log_should_be_does_not_hang(tmp_path, place):
    """A FIFO blocks whoever opens it until a writer comes: no reader may open one."""
    _fifo_tree(tmp_path, place)
    done = runwise("list", "--dir", str(tmp_path))
    assert "Traceback" not in done.stderr
    if done.returncode == 0:
        assert "good/metrics.jsonl" in done.stdout  # the good log is still listed
    else:  # the run was claimed by its name and refused clearly when read
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.startswith("runwise: ") and done.stderr.count("\n") == 1, done.stderr


def test_list_goes_on_past_an_unreadable_run(tmp_path):
    write_tree(tmp_path, {"good/metrics.jsonl": GOOD_LOG,
                          "wandb/offline-run-20240101_000000-new1/run-new1.wandb": b""})  # wandb.init just ran
    done = runwise("list", "--dir", str(tmp_path))
    assert done.returncode == 0 and "good/metrics.jsonl" in done.stdout, done.stderr


def test_local_refuses_a_named_pipe(tmp_path):
    os.mkfifo(tmp_path / "pipe.jsonl")
    done = runwise("local", str(tmp_path / "pipe.jsonl"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == f"runwise: {tmp_path / 'pipe.jsonl'} is not a readable file\n"


def test_an_unreadable_folder_is_skipped_with_a_note(tmp_path, monkeypatch):
    """(The tests run as root, who reads any folder, so the refusal is the OS error itself.)"""
    write_tree(tmp_path, {"good/metrics.jsonl": GOOD_LOG, "locked/inner/metrics.jsonl": GOOD_LOG})
    locked = str(tmp_path / "locked")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    cat = Catalog([tmp_path])
    assert [r.paths[0] for r in cat.refs()] == [tmp_path / "good" / "metrics.jsonl"]
    assert cat.notes == [f"{locked}: not readable (Permission denied); skipped"]


def test_an_unreadable_log_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(GOOD_LOG)
    real_open = open

    def deny(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(RunwiseError, match="Permission denied"):
        metric_log.load_file(path)


def test_symlink_loops_end_the_walk(tmp_path):
    write_tree(tmp_path, {"good/metrics.jsonl": GOOD_LOG})
    (tmp_path / "loop").symlink_to(tmp_path)  # a folder that holds itself
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")  # a link cycle
    (tmp_path / "good" / "self.jsonl").symlink_to(tmp_path / "good" / "self.jsonl")
    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "latest-run").symlink_to(tmp_path / "wandb")
    done = runwise("list", "--dir", str(tmp_path))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "(1 run, newest first)" in done.stdout and "good/metrics.jsonl" in done.stdout
    done = runwise("local", str(tmp_path / "good" / "self.jsonl"))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr


# -- a file rewritten shorter while it is read ---------------------------------------------------------

@pytest.fixture(scope="module")
def wandb_log(tmp_path_factory):
    base = tmp_path_factory.mktemp("shrink")
    make_run(base / "src", "finished")
    folder = next((base / "src" / "wandb").glob("offline-run-*"))
    log = next(folder.glob("*.wandb"))
    return folder, log, log.read_bytes(), Catalog([folder]).runs()[0]


@pytest.mark.parametrize("keep", [0, 7, 100, BLOCK - 1, BLOCK + 7])
def test_wandb_log_truncated_between_two_blocks_of_a_read(wandb_log, tmp_path, keep):
    _folder, _log, data, _full = wandb_log
    path = tmp_path / "run-x.wandb"
    path.write_bytes(data)
    report = ReadReport(path)
    batches = iter_batches(path, report)
    first = next(batches)
    os.truncate(path, keep)  # the writer started over (or the file was replaced) mid-read
    rest = [p for batch in batches for p in batch]
    assert first and report.end_offset <= len(data)
    assert len(first) + len(rest) == report.records
    assert all("\n" not in n for n in report.notes)


def test_wandb_log_rewritten_shorter_again_and_again_while_read(wandb_log, tmp_path):
    folder, log, data, full = wandb_log
    import shutil

    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    path = copy / log.name
    stop = threading.Event()

    def rewriter() -> None:
        cut = 7
        while not stop.is_set():
            with open(path, "r+b") as f:
                f.truncate(cut)
                f.seek(cut)
                f.write(data[cut:])
            cut = (cut * 7919 + 13) % len(data)

    t = threading.Thread(target=rewriter)
    t.start()
    try:
        for _ in range(40):
            try:
                run = Catalog([copy]).runs()[0]
            except RunwiseError:
                continue
            assert_wandb_prefix(run, full, "rewritten", clean_cut=True)
    finally:
        stop.set()
        t.join()


def test_jsonl_rewritten_shorter_again_and_again_while_read(tmp_path):
    rows = [f'{{"step": {i}, "loss": {1.0 / (i + 1)!r}}}\n'.encode() for i in range(3000)]
    data = b"".join(rows)
    path = tmp_path / "m.jsonl"
    path.write_bytes(data)
    truth = np.array([1.0 / (i + 1) for i in range(3000)])
    stop = threading.Event()

    def rewriter() -> None:
        cut = 1
        while not stop.is_set():
            with open(path, "r+b") as f:
                f.truncate(cut)
                f.seek(cut)
                f.write(data[cut:])
            cut = (cut * 7919 + 13) % len(data)

    t = threading.Thread(target=rewriter)
    t.start()
    try:
        for _ in range(40):
            try:
                (run,) = metric_log.load_file(path)
            except RunwiseError:
                continue
            loss = run.metrics.get("loss")
            if loss is None:
                continue
            # every point read is the pristine point of its step
            assert np.array_equal(loss.values, truth[loss.steps]), "a value differs from the log's"
    finally:
        stop.set()
        t.join()


# -- side files that never end or block: /dev/zero links and named pipes ------------------------------

#: Reads each tree given on the command line in one process, with a memory limit and an alarm
#: per tree, and prints one JSON outcome per tree: ok, error (a RunwiseError), crash, hang.
SIDE_DRIVER = """
import json, resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from runwise_core import views
from runwise_core.catalog import Catalog
from runwise_core.errors import RunwiseError
class Hang(BaseException):
    pass
def alarm(*_):
    raise Hang()
signal.signal(signal.SIGALRM, alarm)
out = {}
for tree in sys.argv[1:]:
    signal.alarm(5)
    try:
        runs = Catalog([tree]).runs()
        for run in runs:
            views.run_view(run)
        out[tree] = "ok %d" % len(runs)
    except RunwiseError as e:
        out[tree] = "error " + str(e)
    except Hang:
        out[tree] = "hang"
    except BaseException as e:
        out[tree] = "crash " + type(e).__name__
    finally:
        signal.alarm(0)
print(json.dumps(out))
"""

MODERN_SIDE = ["files/output.log", "files/config.yaml", "files/wandb-summary.json", "files/wandb-metadata.json"]
LEGACY_SIDE = ["wandb-history.jsonl", "wandb-events.jsonl", "config.yaml", "wandb-metadata.json",
               "wandb-summary.json", "output.log"]


def test_side_files_that_never_end_or_block_are_skipped(wandb_log, tmp_path):
    """A run folder whose side file is a named pipe (blocks on open) or a link to /dev/zero
    (never ends) is read without it: no hang, no MemoryError."""
    folder, _log, _data, _full = wandb_log
    import shutil

    trees = {}
    for n, side in enumerate(MODERN_SIDE):
        for how in ("fifo", "zero"):
            tree = tmp_path / f"modern-{n}-{how}"
            shutil.copytree(folder, tree / folder.name)
            trees[f"{side} {how}"] = (tree, tree / folder.name / side)
    for n, side in enumerate(LEGACY_SIDE):
        for how in ("fifo", "zero"):
            tree = tmp_path / f"legacy-{n}-{how}"
            run = tree / "wandb" / "run-20240101_000000-side1"
            write_tree(run, {"wandb-history.jsonl": GOOD_LOG.replace(b'"step"', b'"_step"'),
                             "wandb-metadata.json": b'{"state": "finished"}'})
            trees[f"legacy {side} {how}"] = (tree, run / side)
    for name, (tree, side) in trees.items():
        side.parent.mkdir(parents=True, exist_ok=True)
        side.unlink(missing_ok=True)
        if name.endswith("fifo"):
            os.mkfifo(side)
        else:
            side.symlink_to("/dev/zero")
    done = subprocess.run([sys.executable, "-c", SIDE_DRIVER, *(str(t) for t, _ in trees.values())],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout)
    got = {name: outcome[str(tree)] for name, (tree, _) in trees.items()}
    assert got == {name: "ok 1" for name in trees}


def test_file_names_that_are_not_utf8_are_listed_and_read(tmp_path):
    """Linux file names are bytes: one that is not UTF-8 reaches Python with surrogate escapes,
    which must survive the cache key, the catalog and the output."""
    os.makedirs(os.fsencode(tmp_path) + b"/run\xff", exist_ok=True)
    with open(os.fsencode(tmp_path) + b"/run\xff/bad\xfename.jsonl", "wb") as f:
        f.write(GOOD_LOG)
    env = {**os.environ, "RUNWISE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("RUNWISE_NO_CACHE", None)
    for argv in (["list"], ["latest"], ["local"]):
        done = subprocess.run([sys.executable, "-m", "runwise", *argv, "--dir", str(tmp_path)], capture_output=True,
                              text=True, timeout=HANG_GUARD_S, env=env, errors="replace")
        assert done.returncode == 0 and "Traceback" not in done.stderr, (argv, done.stderr[-1500:])
        assert "name" in done.stdout
