"""Shared material for the server tests (no tests here): one folder of real offline W&B
runs and local metric logs, written once per test process, and the CLI's own output for
the same question, which every tool must match exactly.

Layout of the root:

    wandb-<scenario>/wandb/offline-run-...   finished, failed, wide (300 keys), console
    logs/metrics.jsonl                        two runs appended in one file (steps restart)
    logs/broken.jsonl                         bytes that hold no JSON row
The logs' mtimes are set to 2020 so the newest run is a W&B run.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from runwise import cli
from wandb_runs import make_run

SCENARIOS = ("finished", "failed", "wide", "console")
OLD = 1_577_836_800  # 2020-01-01, for the local logs

_lock = threading.Lock()
_made: dict[str, object] = {}


def runs_root() -> tuple[Path, dict[str, dict]]:
    """The shared root and each scenario's truth (made on first use, removed at exit)."""
    with _lock:
        if "root" not in _made:
            root = Path(tempfile.mkdtemp(prefix="runwise-server-tests-")).resolve()
            atexit.register(shutil.rmtree, root, True)
            with ThreadPoolExecutor(max_workers=2) as pool:
                truths = dict(zip(SCENARIOS, pool.map(lambda s: make_run(root / f"wandb-{s}", s), SCENARIOS)))
            write_logs(root / "logs")
            _made["root"], _made["truths"] = root, truths
    return _made["root"], _made["truths"]  # type: ignore[return-value]


def write_logs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for part in range(2):
        for step in range(0, 100):
            row = {"step": step, "loss": round(3.0 / (step + 1) + part, 6)}
            if step % 10 == 0:
                row["val_loss"] = round(3.2 / (step + 1) + part, 6)
            lines.append(json.dumps(row))
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "broken.jsonl").write_bytes(b"\x00\xff\xfe not json at all \x00\n" * 5)
    for name in ("metrics.jsonl", "broken.jsonl"):
        os.utime(folder / name, (OLD, OLD))


def cli_output(root: Path, argv: list[str]) -> tuple[int, str, str]:
    """``runwise ARGV --dir ROOT`` run in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main([*argv, "--dir", str(root)])
    return code, out.getvalue(), err.getvalue()


def cli_error(root: Path, argv: list[str]) -> str:
    """The message the CLI prints for a failing command, without its ``runwise: `` prefix."""
    code, out, err = cli_output(root, argv)
    assert code == 1 and out == "", (code, out, err)
    assert err.startswith("runwise: "), err
    return err[len("runwise: "):].rstrip("\n")


def server_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment a server subprocess needs, passed explicitly (the client adds only
    HOME, PATH and the like): the roots, the import path, no W&B network, and the test
    process's cache folder (conftest: never the developer's ~/.cache)."""
    env = {
        "RUNWISE_ROOT": str(root),
        "RUNWISE_CACHE_DIR": os.environ["RUNWISE_CACHE_DIR"],
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env




def timeless(text: str) -> str:
    """``text`` without the one clock-dependent phrase of the live view ("last log 3s ago"),
    so two renderings a second apart compare equal."""
    return re.sub(r"last log \S+ ago", "last log _ ago", text)
