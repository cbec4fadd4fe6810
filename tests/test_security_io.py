"""runwise only reads: every CLI command and every MCP tool, run as real processes over a tree
of every format, leaves each run folder byte for byte as it was (sha256 of every file and the
set of paths, before and after; the cache lives in its own folder outside), and no local
command opens a network connection (sockets are blocked in the process and must never be
asked for).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from mcp_types.version import LATEST_HANDSHAKE_VERSION

from test_fuzz_support import write_tree
from test_server_support import runs_root, server_env

#: Run in the CLI process before runwise is imported: every way out to the network records
#: the attempt and fails, as it would on a machine with no network.
BLOCK_NETWORK = textwrap.dedent("""
    import json, socket, sys
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(repr(args)[:200])
        raise OSError("network blocked by the test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from runwise.cli import main
    codes = []
    for argv in json.loads(sys.argv[1]):
        codes.append(main(argv))
    sys.stdout.write("\\n" + json.dumps({"codes": codes, "attempts": attempts}) + "\\n")
""")


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file (and the target of every link), keyed by path; folders too."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A copy of the shared W&B runs plus one run of every other format."""
    src, truths = runs_root()
    root = tmp_path_factory.mktemp("readonly") / "runs"
    shutil.copytree(src, root, symlinks=True)
    write_tree(root, {
        "legacy/wandb/run-20240101_000000-legacy1/wandb-history.jsonl": b'{"_step": 0, "loss": 1.0}\n{"_step": 1, "loss": 0.5}\n',
        "legacy/wandb/run-20240101_000000-legacy1/wandb-metadata.json": b'{"state": "finished"}',
        "legacy/wandb/run-20240101_000000-legacy1/config.yaml": b"lr:\n  value: 0.1\n",
        "hf/out/trainer_state.json": json.dumps({"global_step": 2, "max_steps": 2, "log_history": [
            {"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 2}]}).encode(),
        "pl/lightning_logs/version_0/metrics.csv": b"epoch,step,loss\n0,0,1.0\n0,1,0.5\n",
        "pl/lightning_logs/version_0/hparams.yaml": b"lr: 0.01\n",
        "csv/log.csv": b"step,loss\n0,1.0\n1,0.5\n",
    })
    tbx = pytest.importorskip("tensorboardX")
    writer = tbx.SummaryWriter(str(root / "tb" / "exp"))
    for step in range(5):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.close()
    ids = {k: v["id"] for k, v in truths.items()}
    return root, ids


def cli_commands(root: Path, ids: dict[str, str]) -> list[list[str]]:
    f, x = ids["finished"], ids["failed"]
    d = ["--dir", str(root)]
    log = str(root / "logs" / "metrics.jsonl")
    return [["list", "-n", "100", *d], ["latest", *d], ["run", f, *d], ["keys", f, *d], ["live", *d],
            ["history", f, "-k", "train/loss", *d], ["stats", f, *d], ["stability", f, *d],
            ["compare", f, f"{x}@5", "-d", *d], ["config", f, *d], ["best", "loss", *d], ["find", "baseline", *d],
            ["list", "--format", "json", *d], ["run", f, "--format", "md", *d], ["local", *d],
            ["local", log], ["local", log, "--keys"], ["local", log, "--history", "-k", "loss"],
            ["local", log, "--stats"], ["local", str(root / "csv" / "log.csv")]]


@pytest.fixture(scope="module")
def cli_run(tree, tmp_path_factory):
    root, ids = tree
    before = snapshot(root)
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "HOME": str(home), "RUNWISE_CACHE_DIR": str(home / "cache"), "WANDB_MODE": "offline"}
    env.pop("RUNWISE_NO_CACHE", None)
    argvs = cli_commands(root, ids)
    done = subprocess.run([sys.executable, "-c", BLOCK_NETWORK, json.dumps(argvs)], capture_output=True, text=True,
                          env=env, cwd=str(home), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.rstrip("\n").rsplit("\n", 1)[-1])
    return root, before, argvs, report, done.stderr, home


def test_every_cli_command_leaves_the_run_folders_byte_for_byte(cli_run):
    root, before, argvs, report, stderr, _home = cli_run
    assert dict(zip(map(" ".join, argvs), report["codes"])) == {" ".join(a): 0 for a in argvs}, stderr[-2000:]
    assert snapshot(root) == before


def test_every_local_cli_command_works_with_the_network_blocked(cli_run):
    _root, _before, _argvs, report, stderr, _home = cli_run
    assert report["attempts"] == []
    assert "Traceback" not in stderr


def test_the_cache_is_written_outside_the_run_folders(cli_run):
    root, _before, _argvs, _report, _stderr, home = cli_run
    cache = home / "cache"
    assert not cache.is_relative_to(root)
    written = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert written, "the cache was not used (the test would not show where it writes)"


def test_every_mcp_tool_leaves_the_run_folders_byte_for_byte(tree, tmp_path):
    root, ids = tree
    before = snapshot(root)
    f, x = ids["finished"], ids["failed"]
    calls = [("list_runs", {"limit": 100}), ("summarize_run", {"run": f}), ("get_keys", {"run": f}),
             ("get_history", {"run": f}), ("get_stats", {"run": f}), ("compare_runs", {"run_a": f, "run_b": x}),
             ("detect_anomalies", {"run": f}), ("live_status", {}), ("get_config", {"run": f}),
             ("find_best_run", {"metric": "loss"}), ("analyze_local_log", {"path": "logs/metrics.jsonl"}),
             ("analyze_local_log", {"path": "csv/log.csv", "view": "stats"}),
             ("analyze_local_log", {"path": "../../etc/passwd"})]
    env = {**os.environ, **server_env(root), "HOME": str(tmp_path), "RUNWISE_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "runwise.server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path))
    guard = threading.Timer(120, proc.kill)
    guard.start()
    try:
        msgs = [{"jsonrpc": "2.0", "id": 0, "method": "initialize",
                 "params": {"protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {},
                            "clientInfo": {"name": "t", "version": "0"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"}]
        msgs += [{"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": n, "arguments": a}}
                 for i, (n, a) in enumerate(calls, start=1)]
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in msgs))
        proc.stdin.flush()
        replies = {r["id"]: r for r in (json.loads(proc.stdout.readline()) for _ in range(len(calls) + 1))}
        proc.stdin.close()
        stderr = proc.stderr.read()
        assert proc.wait() == 0, stderr
    finally:
        guard.cancel()
    errors = {calls[i - 1][0]: r["result"]["content"][0]["text"] for i, r in replies.items()
              if i and r["result"]["isError"]}
    assert list(errors) == ["analyze_local_log"] and "outside the folders" in errors["analyze_local_log"], errors
    assert snapshot(root) == before
