"""The server reads only under its roots, whatever paths it is given and whatever links lie
in the tree: a property test of :meth:`Roots.confine` over generated paths, and a server
process whose every file open and folder listing is recorded by a Python audit hook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwise_core.errors import PathNotAllowed
from runwise_core.roots import Roots
from test_fuzz_support import write_tree
from test_server_support import runs_root, write_logs

SECRET = "SECRET-7f3a-never-shown"


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """base/root (runs, links in, out and in loops) and base/outside (what must never be read)."""
    base = tmp_path_factory.mktemp("roots").resolve()
    root, outside = base / "root", base / "outside"
    write_logs(root / "logs")
    write_logs(outside)
    write_tree(outside, {"secret.txt": f"{SECRET}\n".encode(), "config.yaml": f"lr:\n  value: {SECRET}\n".encode(),
                         "out.log": f"{SECRET}\n".encode()})
    src, _ = runs_root()
    run = next((src / "wandb-finished" / "wandb").glob("offline-run-*"))
    copy = root / "wandb" / run.name
    shutil.copytree(run, copy)
    for side, target in (("files/output.log", "out.log"), ("files/config.yaml", "config.yaml"),
                         ("files/wandb-summary.json", "secret.txt")):
        (copy / side).unlink(missing_ok=True)
        (copy / side).symlink_to(outside / target)
    (root / "logs" / "leak.jsonl").symlink_to(outside / "metrics.jsonl")
    (root / "out").symlink_to(outside)
    (root / "loop").symlink_to(root)
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    return base


SEGMENTS = ["..", ".", "logs", "metrics.jsonl", "leak.jsonl", "out", "loop", "a", "b", "secret.txt", "wandb", "", "~",
            "root", "outside", "/", "//"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6), absolute=st.booleans())
def test_confine_returns_a_real_path_under_the_root_or_refuses(tree, parts, absolute):
    root = tree / "root"
    text = (str(tree) + "/" if absolute else "") + "/".join(parts)
    try:
        real = Roots.of([root]).confine(text)
    except PathNotAllowed as err:
        assert "\n" not in str(err)
        return
    assert real == Path(os.path.realpath(real)) and real.is_relative_to(root), (text, real)


AUDIT = """
import json, os, sys
seen = []
net = []
def hook(event, args):
    if event.startswith(("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request")):
        net.append(event + repr(args)[:200])
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        seen.append(os.path.realpath(os.fsdecode(args[0])))  # where a link leads
sys.addaudithook(hook)
import anyio
from mcp import Client
from runwise.server import create_server
from runwise_core.roots import Roots
srv = create_server(Roots.of([sys.argv[1]]))
async def go():
    out = []
    async with Client(srv) as c:
        for name, args in json.loads(sys.argv[2]):
            r = await c.call_tool(name, args)
            out.append([name, r.is_error, r.content[0].text])
    return out
replies = anyio.run(go)
print(json.dumps({"replies": replies, "seen": sorted(set(seen)), "net": net}))
"""


@pytest.fixture(scope="module")
def audited(tree, tmp_path_factory):
    """Every tool, and paths that try every way out, called on a server process whose every
    file open and folder listing is recorded (as the real path it leads to)."""
    root, outside = tree / "root", tree / "outside"
    legacy = root / "wandb" / "run-20240101_000000-leak1"
    write_tree(legacy, {"wandb-history.jsonl": b'{"_step": 0, "loss": 1.0}\n{"_step": 1, "loss": 0.5}\n',
                        "wandb-metadata.json": b'{"state": "finished"}'})
    (legacy / "output.log").symlink_to(outside / "out.log")
    (legacy / "config.yaml").symlink_to(outside / "config.yaml")
    calls = [["list_runs", {"limit": 100}], ["summarize_run", {}], ["get_keys", {}],
             ["find_best_run", {"metric": "loss"}], ["detect_anomalies", {}]]
    calls += [[tool, {"run": run}] for tool in ("live_status", "get_config", "summarize_run")
              for run in ("leak1", "latest")]
    calls += [["analyze_local_log", {"path": p}] for p in (
        "../outside/secret.txt", str(outside / "secret.txt"), "out/metrics.jsonl", "logs/leak.jsonl",
        "loop/logs/../../outside/secret.txt", "a", "~/.bashrc", "/etc/passwd", "logs/metrics.jsonl")]
    home = tmp_path_factory.mktemp("audit-home")
    env = {**os.environ, "RUNWISE_CACHE_DIR": str(home / "cache"), "HOME": str(home), "WANDB_MODE": "offline"}
    done = subprocess.run([sys.executable, "-c", AUDIT, str(root), json.dumps(calls)], capture_output=True,
                          text=True, env=env, cwd=str(home), timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    replies = [(name, args, err, text) for (name, args), (_, err, text) in zip(calls, result["replies"])]
    return replies, result["seen"], result["net"]


def test_paths_out_of_the_roots_are_refused_and_the_one_inside_is_read(audited):
    replies, _seen, _net = audited
    local = [(args["path"], err) for name, args, err, _ in replies if name == "analyze_local_log"]
    assert [p for p, err in local if not err] == ["logs/metrics.jsonl"]
    assert all("failed inside runwise" not in text for *_, text in replies)


def test_the_server_process_asks_for_no_network(audited):
    """Local runs only: no connect, no name lookup, by the server or anything it imports."""
    _replies, _seen, net = audited
    assert net == []


def test_no_reply_shows_content_from_outside_the_roots(audited):
    replies, _seen, _net = audited
    assert [(name, args) for name, args, _err, text in replies if SECRET in text] == []


def test_the_server_process_opens_nothing_outside_its_roots(tree, audited):
    _replies, seen, _net = audited
    assert [p for p in seen if Path(p).is_relative_to(tree) and not Path(p).is_relative_to(tree / "root")] == []
