"""The MCP tools in-process (``mcp.Client``) on W&B cloud runs, against the fake W&B endpoint.

A server given a W&B project answers every tool with the CLI's text for the same question;
W&B failures come back as the CLI's one line in a ToolError; a server given no project never
reaches W&B and says how to give it one.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

import runwise.server as server_module
from cloud_fake import BAD_KEY, FakeWandb, exported_run, offline_env, standard_project
from runwise.cli import main as cli_main
from runwise.server import server_for
from runwise.server.runner import Runner
from runwise.server.workspace import Workspace
from runwise_core.roots import Roots
from test_server_support import server_env
from test_server_tools import call, err, ok, ruler, tools_listing

NOW = time.time()
RUN_TOOLS = {"list_runs", "summarize_run", "get_keys", "get_history", "get_stats", "compare_runs",
             "detect_anomalies", "live_status", "get_config", "find_best_run"}


@pytest.fixture()
def fake(monkeypatch, tmp_path_factory: pytest.TempPathFactory):
    with FakeWandb({"ent/proj": standard_project(NOW), "ent/other": [exported_run()]}) as server:
        offline_env(monkeypatch, tmp_path_factory.getbasetemp() / "wandb-state", server.base_url)
        monkeypatch.delenv("RUNWISE_WANDB_PROJECT", raising=False)
        yield server


@pytest.fixture()
def cloud_server(fake, tmp_path):
    return server_for(Runner(Workspace(Roots.of([tmp_path]), wandb_project="ent/proj"), heartbeat_s=3600))


@pytest.fixture()
def local_server(tmp_path):
    return server_for(Runner(Workspace(Roots.of([tmp_path])), heartbeat_s=3600))


def cli_text(argv: list[str]) -> str:
    out, errs = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(errs):
        code = cli_main([*argv, "--max-tokens", "2000"])
    assert (code, errs.getvalue()) == (0, ""), errs.getvalue()
    return out.getvalue()


def test_run_tools_are_open_world_only_on_a_server_given_a_project(cloud_server, local_server) -> None:
    tools = {t["name"]: t for t in tools_listing(cloud_server)["tools"]}
    for name, tool in tools.items():
        world = name in RUN_TOOLS
        assert tool["annotations"] == {"readOnlyHint": True, "openWorldHint": world}, name
    assert {t["annotations"]["openWorldHint"] for t in tools_listing(local_server)["tools"]} == {False}
    assert cloud_server.instructions.startswith("runwise reads the ML training runs of W&B project ent/proj ")
    props = tools["list_runs"]["inputSchema"]["properties"]
    assert props["wandb_project"] == {"maxLength": 200, "pattern": r"^[\w.\-]+/[\w.\-]+$", "type": "string",
                                      "description": "W&B ENTITY/PROJECT (default: the server's)"}
    assert "wandb_project" in tools["find_best_run"]["inputSchema"]["properties"]
    for name in ("get_stats", "get_history"):
        assert tools[name]["inputSchema"]["properties"]["exact"]["default"] is False


def test_tools_list_with_the_cloud_arguments_costs_under_2500_tokens(cloud_server) -> None:
    count = ruler()
    wire = json.dumps({"jsonrpc": "2.0", "id": 1, "result": tools_listing(cloud_server)},
                      separators=(",", ":"))
    n = count(wire)
    print(f"tools/list reply: {n} tokens")
    assert n < 2500


def test_every_tool_on_cloud_runs_says_what_the_cli_says(cloud_server) -> None:
    p = ["--wandb", "ent/proj"]
    cases = [
        ("list_runs", {}, ["list", *p]),
        ("list_runs", {"state": "crashed", "limit": 2}, ["list", "--state", "crashed", "-n", "2", *p]),
        ("list_runs", {"query": "crash"}, ["find", "crash", *p]),
        ("list_runs", {"wandb_project": "ent/other"}, ["list", "--wandb", "ent/other"]),
        ("summarize_run", {"run": "long"}, ["run", "long", *p]),
        ("summarize_run", {"run": "ent/proj/failed1", "keys": ["loss"]}, ["run", "failed1", "-k", "loss", *p]),
        ("get_keys", {"run": "long"}, ["keys", "long", *p]),
        ("get_history", {"run": "live", "keys": ["loss"]}, ["history", "live", "-k", "loss", *p]),
        ("get_history", {"run": "long", "keys": ["loss"], "samples": 20}, ["history", "long", "-k", "loss",
                                                                            "--samples", "20", *p]),
        ("get_stats", {"run": "long"}, ["stats", "long", *p]),
        ("get_stats", {"run": "long", "keys": ["loss"], "exact": True}, ["stats", "long", "-k", "loss", "--exact", *p]),
        ("compare_runs", {"run_a": "long", "run_b": "ent/other/exported"}, ["compare", "long", "ent/other/exported", *p]),
        ("detect_anomalies", {"run": "live"}, ["anomalies", "live", *p]),
        ("get_config", {"run": "https://wandb.ai/ent/proj/runs/live"}, ["config", "live", *p]),
        ("find_best_run", {"metric": "loss"}, ["best", "loss", *p]),
        ("find_best_run", {"metric": "loss", "wandb_project": "ent/other"}, ["best", "loss", "--wandb", "ent/other"]),
    ]
    for name, args, argv in cases:
        assert ok(cloud_server, name, args) == cli_text(argv), (name, args)


def test_live_status_finds_the_running_cloud_run(cloud_server) -> None:
    assert ok(cloud_server, "live_status", {}).startswith("live live live-name · running · step 39/3,000 · 1 steps/s")


def test_exact_stats_read_every_row_of_the_cloud_run(cloud_server, fake) -> None:
    text = ok(cloud_server, "get_stats", {"run": "long", "keys": ["loss"], "exact": True})
    assert text.splitlines()[0] == "stats of long long-name (exact, all points)"
    assert text.splitlines()[2].split()[:2] == ["loss", "3000"]
    assert fake.operations()[-4:] == ["RunParquetHistory", "HistoryPage", "HistoryPage", "HistoryPage"]  # scan_history


def test_w_and_b_failures_are_the_clis_line_in_a_tool_error(cloud_server, fake, monkeypatch) -> None:
    assert err(cloud_server, "list_runs", {"wandb_project": "ent/nope"}) == (
        f"no W&B project 'ent/nope' at {fake.base_url} (or this key cannot see it); check ENTITY/PROJECT "
        "(--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)")
    assert err(cloud_server, "get_keys", {"run": "nosuchrun"}).startswith("no run 'nosuchrun' in W&B project ent/proj. ")
    monkeypatch.setenv("WANDB_API_KEY", BAD_KEY)
    fresh = server_for(Runner(Workspace(Roots.of([Path.cwd()]), wandb_project="ent/proj"), heartbeat_s=3600))
    start = time.monotonic()
    assert err(fresh, "summarize_run", {}) == (
        f"W&B at {fake.base_url} refused the API key (user is not logged in); run `wandb login --relogin` "
        "or set WANDB_API_KEY to a valid key")
    assert time.monotonic() - start < 10.0


def test_a_server_error_is_a_tool_error_and_the_server_goes_on(cloud_server, fake) -> None:
    fake.mode = "http500"
    assert err(cloud_server, "list_runs", {}).startswith(f"W&B at {fake.base_url} answered HTTP 500 (server error)")
    fake.mode = "ok"
    assert ok(cloud_server, "list_runs", {"limit": 1}).splitlines()[1].startswith("stale ")


def test_a_server_without_a_project_never_reaches_w_and_b(local_server, fake) -> None:
    refusal = ("W&B project ent/proj: this server reads local runs only; start it with --wandb ENTITY/PROJECT "
               "(or set RUNWISE_WANDB_PROJECT) to read W&B runs")
    assert err(local_server, "get_stats", {"run": "ent/proj/long"}) == refusal
    assert err(local_server, "list_runs", {"wandb_project": "ent/proj"}) == refusal
    assert fake.requests == []


def test_a_malformed_project_fails_the_start_with_one_line(capsys) -> None:
    assert server_module.main(["--wandb", "not a project"]) == 1
    assert capsys.readouterr().err == (
        "runwise-mcp: W&B project 'not a project': expected ENTITY/PROJECT, e.g. my-team/my-project "
        "(--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)\n")


def test_the_stdio_server_with_a_project_answers_from_w_and_b(fake, tmp_path) -> None:
    """``python -m runwise.server --wandb ENTITY/PROJECT`` as a real subprocess: wandb and its
    core sidecar run inside the server, and stdout must still carry protocol only."""
    keep = ("WANDB_BASE_URL", "WANDB_API_KEY", "NETRC", "RUNWISE_CACHE_DIR", "WANDB_DIR", "WANDB_CACHE_DIR",
            "WANDB_CONFIG_DIR", "WANDB_ERROR_REPORTING", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    env = server_env(tmp_path, **{k: os.environ[k] for k in keep})
    del env["WANDB_MODE"]  # wandb.Api refuses offline mode
    params = StdioServerParameters(command=sys.executable, args=["-m", "runwise.server", "--wandb", "ent/proj"],
                                   env=env, cwd="/")

    async def go() -> tuple[str, str, bool]:
        async with Client(params) as client:
            listed = await client.list_tools()
            world = {t.name: t.annotations.open_world_hint for t in listed.tools}
            assert world == {t.name: t.name in RUN_TOOLS for t in listed.tools}
            runs = await client.call_tool("list_runs", {"limit": 3})
            stats = await client.call_tool("get_stats", {"run": "ent/proj/long", "keys": ["loss"], "exact": True})
            return runs.content[0].text, stats.content[0].text, runs.is_error or stats.is_error

    runs, stats, failed = anyio.run(go)
    assert not failed, (runs, stats)
    assert runs == cli_text(["list", "-n", "3", "--wandb", "ent/proj"])
    assert stats == cli_text(["stats", "long", "-k", "loss", "--exact", "--wandb", "ent/proj"])


def test_an_exact_read_reports_the_rows_scanned_as_progress(cloud_server) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    result = call(cloud_server, "get_stats", {"run": "long", "keys": ["loss"], "exact": True},
                  progress_callback=on_progress)
    assert not result.is_error
    scan = "scanning the full history of run long"
    # The scan counts rows (0, 1,000 ... 3,000 of 3,000); progress only increases, so a step
    # that does not (the scan's 0, the final "analysing") continues the count, total unknown.
    assert seen == [(0, 2, "finding runs"), (1, 2, "reading run long"), (2, None, scan), (1000, 3000, scan),
                    (2000, 3000, scan), (3000, 3000, scan), (3001, None, "analysing")]


def test_a_server_on_local_roots_with_a_project_compares_a_cloud_run_with_a_local_one(fake, tmp_path) -> None:
    """``--root`` with the project only in RUNWISE_WANDB_PROJECT: local runs by default, the
    project's runs when a call names them (as ``--dir`` beats the variable in the CLI)."""
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.0 / (s + 1)}) + "\n"
                                                    for s in range(50)))
    server = server_for(Runner(Workspace(Roots.of([tmp_path]), wandb_project="ent/proj", cloud_default=False),
                               heartbeat_s=3600))
    local = ["--dir", str(tmp_path)]
    assert ok(server, "list_runs", {}) == cli_text(["list", *local])
    local_id = json.loads(cli_text(["list", *local, "--format", "json"]))["runs"][0]["id"]
    assert ok(server, "compare_runs", {"run_a": "ent/proj/live", "run_b": local_id}) == cli_text(
        ["compare", "ent/proj/live", local_id, *local])
    assert ok(server, "list_runs", {"wandb_project": "ent/proj", "limit": 2}) == cli_text(
        ["list", "-n", "2", "--wandb", "ent/proj"])
    assert {t["annotations"]["openWorldHint"] for t in tools_listing(server)["tools"]
            if t["name"] in RUN_TOOLS} == {True}
    assert server.instructions.startswith("runwise reads ML training runs (W&B folders, JSONL/CSV logs) under")
