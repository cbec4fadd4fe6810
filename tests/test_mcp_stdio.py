"""End to end: ``python -m runwise.server`` as a real subprocess over stdio, on real offline
W&B runs, with a modern client and a legacy one (the initialize handshake most hosts use),
a raw JSON-RPC session that checks stdout carries protocol only, and a soak test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from test_server_support import cli_error, cli_output, runs_root, server_env, timeless

SERVER = [sys.executable, "-m", "runwise.server"]


@pytest.fixture(scope="module")
def root() -> Path:
    return runs_root()[0]


@pytest.fixture(scope="module")
def ids() -> dict[str, str]:
    return {k: v["id"] for k, v in runs_root()[1].items()}


def params(root: Path, *args: str) -> StdioServerParameters:
    # cwd elsewhere: the roots come from RUNWISE_ROOT, not from the working folder
    return StdioServerParameters(command=SERVER[0], args=[*SERVER[1:], *args], env=server_env(root), cwd="/")


def text_of(result) -> str:
    assert len(result.content) == 1
    return result.content[0].text


def cli_text(root: Path, argv: list[str]) -> str:
    code, out, err = cli_output(root, [*argv, "--max-tokens", "2000"])
    assert code == 0, err
    return out


async def session_checks(root: Path, ids: dict[str, str], mode: str) -> None:
    f, x = ids["finished"], ids["failed"]
    async with Client(params(root), mode=mode) as client:
        if mode == "legacy":
            assert client.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
            assert client.server_info is not None and client.server_info.name == "runwise"
        listed = await client.list_tools()
        assert len(listed.tools) == 11
        assert all(t.annotations.read_only_hint and t.annotations.open_world_hint is False for t in listed.tools)
        calls: list[tuple[str, dict[str, Any], list[str]]] = [
            ("list_runs", {}, ["list"]),
            ("summarize_run", {"run": f}, ["run", f]),
            ("get_keys", {"run": f}, ["keys", f]),
            ("get_history", {"run": f, "keys": ["train/loss", "lr"], "samples": 30},
             ["history", f, "-k", "train/loss,lr", "--samples", "30"]),
            ("get_stats", {"run": f, "keys": ["train/loss"]}, ["stats", f, "-k", "train/loss"]),
            ("compare_runs", {"run_a": f"{f}@100", "run_b": f}, ["compare", f"{f}@100", f]),
            ("detect_anomalies", {"run": f}, ["anomalies", f]),
            ("live_status", {}, ["live"]),
            ("get_config", {"run": f}, ["config", f]),
            ("find_best_run", {"metric": "loss"}, ["best", "loss"]),
            ("analyze_local_log", {"path": "logs/metrics.jsonl", "view": "keys"},
             ["local", str(root / "logs" / "metrics.jsonl"), "--keys"]),
        ]
        for name, args, argv in calls:
            result = await client.call_tool(name, args)
            assert not result.is_error, text_of(result)
            assert timeless(text_of(result)) == timeless(cli_text(root, argv)), name

        seen: list[str | None] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append(message)

        result = await client.call_tool("summarize_run", {"run": f}, progress_callback=on_progress)
        assert not result.is_error
        steps = [m for m in seen if "(still working, " not in (m or "")]  # heartbeats depend on the clock
        assert steps == ["finding runs", f"reading run {f}", "analysing"]

        bad = await client.call_tool("summarize_run", {"run": "nope"})
        assert bad.is_error
        assert text_of(bad) == "Error executing tool summarize_run: " + cli_error(root, ["run", "nope"])
        bad = await client.call_tool("get_history", {"run": x, "keys": ["los"]})
        assert bad.is_error and "closest keys: loss" in text_of(bad)
        bad = await client.call_tool("analyze_local_log", {"path": "../../etc/passwd"})
        assert bad.is_error and "outside the folders this server may read" in text_of(bad)
        bad = await client.call_tool("get_history", {"samples": 100_000})
        assert bad.is_error and "less than or equal to 1000" in text_of(bad)


def test_stdio_subprocess_modern_client(root, ids):
    anyio.run(session_checks, root, ids, "auto")


def test_stdio_subprocess_legacy_client(root, ids):
    anyio.run(session_checks, root, ids, "legacy")


def test_root_flag_overrides_the_environment(root, ids, tmp_path):
    async def go():
        # RUNWISE_ROOT says the runs folder; --root says an empty folder, which wins
        async with Client(params(root, "--root", str(tmp_path)), mode="legacy") as client:
            result = await client.call_tool("list_runs", {})
            assert text_of(result) == cli_text(tmp_path, ["list"])
            assert "no runs found" in text_of(result)
            result = await client.call_tool("analyze_local_log", {"path": str(root / "logs" / "metrics.jsonl")})
            assert result.is_error and f"({tmp_path.resolve()})" in text_of(result)

    anyio.run(go)


def test_stdout_carries_protocol_only(root):
    """A raw legacy session with debug logging on: every stdout line is one JSON-RPC message,
    the logs are on stderr."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_runs", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "summarize_run", "arguments": {"run": "nope"}}},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "no_such_tool", "arguments": {}}},
    ]
    env = {**os.environ, **server_env(root)}
    proc = subprocess.Popen([*SERVER, "--log-level", "DEBUG"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd="/")
    guard = threading.Timer(60, proc.kill)  # a hung server fails the test instead of hanging it
    guard.start()
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        lines = [proc.stdout.readline() for _ in range(5)]  # wait for every reply before closing stdin
        proc.stdin.close()
        rest = proc.stdout.read()
        stderr = proc.stderr.read()
        code = proc.wait()
    finally:
        guard.cancel()
    assert code == 0, stderr
    assert rest == ""
    replies = {r["id"]: r for r in map(json.loads, lines)}  # tools/call replies may come in any order
    assert sorted(replies) == [1, 2, 3, 4, 5]
    assert all(r["jsonrpc"] == "2.0" for r in replies.values())
    assert replies[3]["result"]["isError"] is False
    assert replies[4]["result"]["isError"] is True
    assert replies[5]["result"]["isError"] is True
    assert "DEBUG" in stderr


def test_a_bad_root_stops_the_start_with_a_message(tmp_path):
    proc = subprocess.run([*SERVER, "--root", str(tmp_path / "missing")], capture_output=True, text=True,
                          env={**os.environ, **server_env(tmp_path)}, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"runwise-mcp: root '{tmp_path / 'missing'}' is not a folder")


# -- soak ------------------------------------------------------------------------------------------

def child_server_pid() -> int:
    """The pid of this process's ``runwise.server`` child (the stdio client spawned it)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"runwise.server" in cmdline:
            found.append(int(entry.name))
    assert len(found) == 1, found
    return found[0]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


SOAK_CALLS = 1000


def soak_mix(root: Path, ids: dict[str, str]) -> list[tuple[str, dict[str, Any], bool]]:
    """(tool, arguments, is_error expected): valid calls on every tool, and every kind of refusal."""
    f, x, w, c = ids["finished"], ids["failed"], ids["wide"], ids["console"]
    return [
        ("list_runs", {"limit": 100}, False),
        ("summarize_run", {}, False),
        ("summarize_run", {"run": f, "keys": ["train/*"]}, False),
        ("get_keys", {"run": w, "filter": "layer_0"}, False),  # 100 of the 300 keys
        ("get_history", {"run": f, "keys": ["train/loss", "val/loss", "lr"], "samples": 1000}, False),
        ("get_history", {"run": w, "keys": ["layer_00*"]}, False),  # a glob matching 10 keys
        ("get_stats", {"run": w}, False),
        ("compare_runs", {"run_a": f, "run_b": f"{x}@5", "config_diff": True}, False),
        ("detect_anomalies", {"run": f}, False),
        ("live_status", {"run": c}, False),
        ("get_config", {"run": f, "max_tokens": 50}, False),
        ("find_best_run", {"metric": "loss", "limit": 3}, False),
        ("analyze_local_log", {"path": "logs/metrics.jsonl", "view": "history", "part": 1}, False),
        ("summarize_run", {"run": "nope"}, True),
        ("get_history", {"run": f, "keys": ["nope"]}, True),
        ("get_history", {"samples": 1001}, True),
        ("list_runs", {"limit": 1000}, True),
        ("analyze_local_log", {"path": "/etc/passwd"}, True),
        ("analyze_local_log", {"path": "logs/broken.jsonl"}, True),
        ("find_best_run", {"metric": "nope"}, True),
        ("compare_runs", {"run_a": f, "run_b": "x" * 500}, True),
        ("get_keys", {"run": None}, True),
    ]


def test_soak_a_thousand_mixed_calls_to_one_process(root, ids):
    mix = soak_mix(root, ids)

    async def go() -> tuple[float, float, int]:
        async with Client(params(root), mode="legacy") as client:
            pid = child_server_pid()
            before = rss_mb(pid)
            for i in range(SOAK_CALLS):
                name, args, expect_error = mix[i % len(mix)]
                result = await client.call_tool(name, args)
                assert result.is_error == expect_error, (name, args, text_of(result))
                assert not text_of(result).endswith(f"Error executing tool {name}")  # never the bare message
            after = rss_mb(pid)
            final = await client.call_tool("list_runs", {})
            assert not final.is_error
            os.kill(pid, 0)  # still up
            return before, after, pid

    before, after, _ = anyio.run(go)
    print(f"soak: {SOAK_CALLS} calls, RSS {before:.1f} MB -> {after:.1f} MB (+{after - before:.1f} MB)")
    assert after - before < 50


def test_the_mcp_json_entry_starts_the_console_script(root):
    """mcp.json's entry, as Claude Code would run it from a project folder (here: the runs root)."""
    config = json.loads((Path(__file__).resolve().parents[1] / "mcp.json").read_text())
    assert list(config) == ["mcpServers"]
    entry = config["mcpServers"]["runwise"]
    assert entry["command"] == "runwise-mcp"
    command = Path(sys.executable).parent / entry["command"]  # the venv's console script
    assert command.exists(), f"{command}: install the package (pip install -e .) to get runwise-mcp"

    async def go():
        server = StdioServerParameters(command=str(command), args=entry["args"],
                                       env={**entry["env"], "PYTHONPATH": server_env(root)["PYTHONPATH"],
                                            "RUNWISE_CACHE_DIR": server_env(root)["RUNWISE_CACHE_DIR"]}, cwd=root)
        async with Client(server, mode="legacy") as client:
            result = await client.call_tool("list_runs", {})
            assert not result.is_error
            assert text_of(result) == cli_text(root, ["list"])

    anyio.run(go)
