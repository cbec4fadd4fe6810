"""The MCP tools in-process (``mcp.Client(server)``) on real offline W&B runs and local logs.

Every tool's text must equal the CLI's output for the same question (both front ends call
the same view and render), every expected failure must come back as a guiding error with
the core's own message, and nothing may reach the model as a bare "Error executing tool".
"""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from runwise.server import create_server, server_for
from runwise.server.runner import Runner
from runwise.server.workspace import Workspace
from runwise.server.tools import MAX_TOKENS_CAP
from runwise_core import views
from runwise_core.catalog import Catalog
from runwise_core.errors import UnreadableLog
from runwise_core.model import Run, RunState
from runwise_core.render import render
from runwise_core.roots import Roots
from runwise_core.sources.registry import source_named
from runwise_core.tokens import estimate
from test_server_support import cli_error, cli_output, runs_root, timeless, write_logs

RULER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "count_tokens.py"
TOOLS = ["list_runs", "summarize_run", "get_keys", "get_history", "get_stats", "compare_runs",
         "detect_anomalies", "live_status", "get_config", "find_best_run", "analyze_local_log"]


def ruler():
    """The token ruler (Claude-family tokenizer), or skip where the shared tools are absent."""
    pytest.importorskip("tokenizers")
    if not RULER.exists():
        pytest.skip(f"token ruler not found at {RULER}")
    spec = importlib.util.spec_from_file_location("count_tokens", RULER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.count


@pytest.fixture(scope="module")
def root() -> Path:
    return runs_root()[0]


@pytest.fixture(scope="module")
def ids() -> dict[str, str]:
    return {k: v["id"] for k, v in runs_root()[1].items()}


@pytest.fixture(scope="module")
def server(root):
    """The server under test; heartbeats off (one an hour), so progress steps are exact
    (heartbeats have their own test)."""
    return server_for(Runner(Workspace(Roots.of([root])), heartbeat_s=3600))


async def _call(server, name: str, args: dict[str, Any], mode: str = "auto", **kw):
    async with Client(server, mode=mode) as client:
        return await client.call_tool(name, args, **kw)


def call(server, name: str, args: dict[str, Any], mode: str = "auto", **kw):
    return anyio.run(lambda: _call(server, name, args, mode, **kw))


def text_of(result) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return result.content[0].text


def ok(server, name: str, args: dict[str, Any], mode: str = "auto") -> str:
    result = call(server, name, args, mode)
    assert not result.is_error, text_of(result)
    return text_of(result)


def err(server, name: str, args: dict[str, Any]) -> str:
    result = call(server, name, args)
    assert result.is_error
    text = text_of(result)
    prefix = f"Error executing tool {name}: "
    assert text.startswith(prefix), text
    return text[len(prefix):]


def tools_listing(server) -> dict[str, Any]:
    async def go():
        async with Client(server) as client:
            return await client.list_tools()

    return anyio.run(go).model_dump(by_alias=True, exclude_none=True, mode="json")


# -- tools/list ---------------------------------------------------------------------------------

def test_tools_list_publishes_the_eleven_tools_read_only(server):
    tools = {t["name"]: t for t in tools_listing(server)["tools"]}
    assert sorted(tools) == sorted(TOOLS)
    for tool in tools.values():
        assert tool["annotations"] == {"readOnlyHint": True, "openWorldHint": False}
        assert "outputSchema" not in tool
        assert len(tool["description"]) > 40
        mt = tool["inputSchema"]["properties"]["max_tokens"]
        assert (mt["default"], mt["maximum"], mt["minimum"]) == (2000, MAX_TOKENS_CAP, 50)
        assert "title" not in json.dumps(tool["inputSchema"])
        assert tool["inputSchema"]["additionalProperties"] is False


def test_tools_list_shows_the_caps(server):
    tools = {t["name"]: t["inputSchema"] for t in tools_listing(server)["tools"]}
    hist = tools["get_history"]["properties"]
    assert (hist["samples"]["default"], hist["samples"]["minimum"], hist["samples"]["maximum"]) == (500, 2, 1000)
    assert (hist["keys"]["minItems"], hist["keys"]["maxItems"]) == (1, 10)
    assert hist["keys"]["items"] == {"maxLength": 200, "type": "string"}
    assert hist["step_from"]["minimum"] == 0
    lst = tools["list_runs"]["properties"]
    assert (lst["limit"]["default"], lst["limit"]["minimum"], lst["limit"]["maximum"]) == (10, 1, 100)
    assert lst["state"]["enum"] == [s.value for s in RunState]
    assert tools["find_best_run"]["properties"]["limit"]["maximum"] == 100
    assert tools["find_best_run"]["required"] == ["metric"]
    assert tools["compare_runs"]["required"] == ["run_a", "run_b"]
    assert tools["compare_runs"]["properties"]["threshold_pct"]["maximum"] == 1e6
    local = tools["analyze_local_log"]["properties"]
    assert local["path"]["maxLength"] == 4096
    assert local["view"]["enum"] == ["summary", "keys", "history", "stats"]
    assert tools["analyze_local_log"]["required"] == ["path"]


def test_tools_list_reply_costs_under_2500_tokens(server):
    count = ruler()
    listing = tools_listing(server)
    wire = json.dumps({"jsonrpc": "2.0", "id": 1, "result": listing}, separators=(",", ":"))
    n = count(wire)
    print(f"tools/list reply: {n} tokens, {len(wire)} bytes")
    assert n < 2500


# -- every tool says what the CLI says --------------------------------------------------------------

def cases(ids: dict[str, str]) -> list[tuple[str, dict[str, Any], list[str]]]:
    f, x, w, c = ids["finished"], ids["failed"], ids["wide"], ids["console"]
    return [
        ("list_runs", {}, ["list"]),
        ("list_runs", {"limit": 2, "state": "finished"}, ["list", "-n", "2", "--state", "finished"]),
        ("list_runs", {"limit": 1}, ["list", "-n", "1"]),
        ("list_runs", {"query": "baseline"}, ["find", "baseline"]),
        ("summarize_run", {}, ["latest"]),
        ("summarize_run", {"run": f}, ["run", f]),
        ("summarize_run", {"run": f[:6]}, ["run", f[:6]]),  # a unique id prefix
        ("summarize_run", {"run": "baseline-small", "keys": ["train/loss", "grad.*"], "anomalies": False},
         ["run", "baseline-small", "-k", "train/loss,grad.*", "--no-anomalies"]),
        ("get_keys", {"run": f}, ["keys", f]),
        ("get_keys", {"run": f, "filter": "grad"}, ["keys", f, "-f", "grad"]),
        ("get_keys", {"run": w}, ["keys", w]),
        ("get_history", {"run": f}, ["history", f]),
        ("get_history", {"run": f, "keys": ["train/loss", "val/loss"], "samples": 40},
         ["history", f, "-k", "train/loss,val/loss", "--samples", "40"]),
        ("get_history", {"run": f, "keys": ["lr"], "step_from": 140, "step_to": 160},
         ["history", f, "-k", "lr", "--steps", "140:160"]),
        ("get_history", {"run": f, "keys": ["grad.max"], "step_to": 30}, ["history", f, "-k", "grad.max", "--steps", ":30"]),
        ("get_stats", {"run": f}, ["stats", f]),
        ("get_stats", {"run": f, "keys": ["lr", "train/loss"]}, ["stats", f, "-k", "lr,train/loss"]),
        ("compare_runs", {"run_a": f, "run_b": x}, ["compare", f, x]),
        ("compare_runs", {"run_a": f"{f}@50", "run_b": f"{f}@150", "filter": "loss", "group": True,
                          "config_diff": True}, ["compare", f"{f}@50", f"{f}@150", "-f", "loss", "-g", "-d"]),
        ("compare_runs", {"run_a": f"{f}@10", "run_b": f, "threshold_pct": 50.0},
         ["compare", f"{f}@10", f, "-t", "50"]),
        ("detect_anomalies", {"run": f, "keys": ["train/loss", "lr"]}, ["anomalies", f, "-k", "train/loss,lr"]),
        ("detect_anomalies", {"run": x}, ["anomalies", x]),
        ("live_status", {}, ["live"]),
        ("get_config", {"run": f}, ["config", f]),
        ("get_config", {"run": f, "filter": "model"}, ["config", f, "-f", "model"]),
        ("find_best_run", {"metric": "loss"}, ["best", "loss"]),
        ("find_best_run", {"metric": "train/loss", "higher_is_better": True, "limit": 1},
         ["best", "train/loss", "--max", "-n", "1"]),
        ("summarize_run", {"run": c}, ["run", c]),
    ]


def test_every_tool_returns_the_cli_text(server, root, ids):
    for name, args, argv in cases(ids):
        code, expected, stderr = cli_output(root, [*argv, "--max-tokens", "2000"])
        assert code == 0, (argv, stderr)
        assert timeless(ok(server, name, args)) == timeless(expected), (name, args)


def test_legacy_handshake_in_process_gives_the_same_text(server, root, ids):
    f = ids["finished"]
    expected = cli_output(root, ["history", f, "-k", "train/loss", "--samples", "20", "--max-tokens", "2000"])[1]
    assert ok(server, "get_history", {"run": f, "keys": ["train/loss"], "samples": 20}, mode="legacy") == expected


def test_live_status_of_a_named_run_is_its_live_view(server, root, ids):
    cat = Catalog([root])
    run = cat.load(cat.select(ids["console"]))
    expected = render(views.live_view(run), "text", 2000)
    assert timeless(ok(server, "live_status", {"run": ids["console"]})) == timeless(expected)


def test_analyze_local_log_matches_runwise_local(server, root):
    log = root / "logs" / "metrics.jsonl"
    for args, argv in [
        ({"path": "logs/metrics.jsonl"}, ["local", str(log)]),
        ({"path": str(log), "view": "keys", "part": 1}, ["local", f"{log}#1", "--keys"]),
        ({"path": "logs/metrics.jsonl", "view": "history", "keys": ["loss"], "samples": 20, "step_from": 10},
         ["local", str(log), "--history", "-k", "loss", "--samples", "20", "--steps", "10:"]),
        ({"path": "logs/../logs/metrics.jsonl", "view": "stats", "part": 2}, ["local", f"{log}#2", "--stats"]),
        ({"path": "logs/metrics.jsonl", "anomalies": False}, ["local", str(log), "--no-anomalies"]),
    ]:
        code, expected, stderr = cli_output(root, [*argv, "--max-tokens", "2000"])
        assert code == 0, stderr
        assert ok(server, "analyze_local_log", args) == expected, args


# -- budgets --------------------------------------------------------------------------------------

@pytest.mark.parametrize("budget", [60, 150, 400])
def test_results_stay_within_max_tokens(server, root, ids, budget):
    count = ruler()
    f, w = ids["finished"], ids["wide"]
    for name, args, argv in [
        ("get_keys", {"run": w}, ["keys", w]),
        ("get_history", {"run": f, "keys": ["train/loss", "lr", "val/loss"]}, ["history", f, "-k", "train/loss,lr,val/loss"]),
        ("summarize_run", {"run": w}, ["run", w]),
        ("list_runs", {"limit": 100}, ["list", "-n", "100"]),
        ("get_config", {"run": f}, ["config", f]),
    ]:
        text = ok(server, name, {**args, "max_tokens": budget})
        assert count(text) <= budget and estimate(text) <= budget, (name, budget, text)
        assert text == cli_output(root, [*argv, "--max-tokens", str(budget)])[1]


def test_default_budget_trims_a_wide_run_to_2000_tokens(server, ids):
    text = ok(server, "get_keys", {"run": ids["wide"]})
    assert estimate(text) <= 2000
    assert "left out" in text and "of 300 keys" in text


# -- expected failures guide the next step --------------------------------------------------------

def test_unknown_run_lists_valid_ids(server, root, ids):
    message = err(server, "summarize_run", {"run": "no-such-run"})
    assert message == cli_error(root, ["run", "no-such-run"])
    for run_id in ids.values():
        assert run_id in message


def test_an_ambiguous_prefix_lists_the_runs_it_matches(server, root):
    message = err(server, "get_keys", {"run": "metrics-"})
    assert message == cli_error(root, ["keys", "metrics-"])
    assert message.startswith("'metrics-' matches 2 runs: metrics-")


def test_unknown_key_names_the_closest_keys(server, root, ids):
    f = ids["finished"]
    message = err(server, "get_history", {"run": f, "keys": ["train/los"]})
    assert message == cli_error(root, ["history", f, "-k", "train/los"])
    assert "closest keys: train/loss" in message
    assert err(server, "get_stats", {"run": f, "keys": ["weights"]}) == cli_error(root, ["stats", f, "-k", "weights"])


def test_unknown_metric_for_best_names_the_closest(server, root):
    message = err(server, "find_best_run", {"metric": "val_los"})
    assert message == cli_error(root, ["best", "val_los"])
    assert "closest keys:" in message


def test_step_range_backwards_is_refused(server, ids):
    message = err(server, "get_history", {"run": ids["finished"], "step_from": 100, "step_to": 10})
    assert message == "step_from 100 is after step_to 10; swap them"


def test_empty_step_range_says_where_the_steps_are(server, root, ids):
    f = ids["finished"]
    message = err(server, "get_history", {"run": f, "keys": ["lr"], "step_from": 5000})
    assert message == cli_error(root, ["history", f, "-k", "lr", "--steps", "5000:"])


def test_corrupt_log_is_an_unreadable_log_error(server, root):
    broken = root / "logs" / "broken.jsonl"
    message = err(server, "analyze_local_log", {"path": "logs/broken.jsonl"})
    assert message == cli_error(root, ["local", str(broken)])
    assert "holds no readable jsonl rows" in message


def test_local_log_errors(server, root):
    assert err(server, "analyze_local_log", {"path": "logs/metrics.jsonl", "part": 3}) == \
        "logs/metrics.jsonl holds 2 run(s); use part 1 to 2"
    missing = err(server, "analyze_local_log", {"path": "logs/nope.jsonl"})
    assert missing.startswith(f"logs/nope.jsonl: No such file or directory (resolved to {root / 'logs' / 'nope.jsonl'})")
    folder = err(server, "analyze_local_log", {"path": "logs"})
    assert folder.startswith("logs is a folder, not a log file")


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../etc/passwd", "logs/../../outside.jsonl", "~/x.jsonl"])
def test_paths_outside_the_roots_are_refused(server, root, path):
    message = err(server, "analyze_local_log", {"path": path})
    assert f"outside the folders this server may read ({root})" in message


def test_symlink_out_of_the_root_is_refused(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    write_logs(outside)
    inside.mkdir()
    (inside / "link.jsonl").symlink_to(outside / "metrics.jsonl")
    (inside / "dirlink").symlink_to(outside)
    srv = create_server(Roots.of([inside]))
    for path in ("link.jsonl", "dirlink/metrics.jsonl", str(inside / "link.jsonl")):
        message = err(srv, "analyze_local_log", {"path": path})
        assert message.startswith(f"{path} resolves to {outside / 'metrics.jsonl'}, outside the folders"), message
    # the same file through a root that holds it is fine
    srv2 = create_server(Roots.of([inside, outside]))
    assert ok(srv2, "analyze_local_log", {"path": "dirlink/metrics.jsonl", "view": "keys"}).startswith("keys of ")


@pytest.mark.parametrize("name,args,field", [
    ("get_history", {"samples": 5000}, "samples"),
    ("get_history", {"samples": 1}, "samples"),
    ("get_history", {"keys": [f"k{i}" for i in range(11)]}, "keys"),
    ("get_history", {"keys": []}, "keys"),
    ("get_stats", {"keys": [f"k{i}" for i in range(51)]}, "keys"),
    ("list_runs", {"limit": 101}, "limit"),
    ("list_runs", {"limit": 0}, "limit"),
    ("list_runs", {"state": "exploded"}, "state"),
    ("summarize_run", {"max_tokens": 20_001}, "max_tokens"),
    ("summarize_run", {"max_tokens": 10}, "max_tokens"),
    ("summarize_run", {"run": "x" * 201}, "run"),
    ("analyze_local_log", {"path": "a" * 4097}, "path"),
    ("analyze_local_log", {"path": "logs/metrics.jsonl", "view": "everything"}, "view"),
    ("find_best_run", {}, "metric"),
    ("compare_runs", {"run_a": "x"}, "run_b"),
    ("get_history", {"step_from": -1}, "step_from"),
    ("get_keys", {"runn": "latest"}, "runn"),  # a misspelt name is refused, not ignored
    ("get_history", {"key": ["loss"]}, "key"),
])
def test_oversized_or_malformed_requests_are_refused_before_any_read(root, name, args, field):
    loads: list[str] = []

    def loader(ref):
        loads.append(ref.id)
        return source_named(ref.source).load(ref)

    srv = create_server(Roots.of([root]), loader=loader)
    message = err(srv, name, args)
    assert f"validation error for {name}Arguments\n{field}" in message
    assert loads == []


# -- nothing escapes, nothing hangs ----------------------------------------------------------------

def failing_loader(bad_id: str, exc: Exception):
    def loader(ref):
        if ref.id == bad_id:
            raise exc
        return source_named(ref.source).load(ref)

    return loader


def test_an_unexpected_exception_is_a_short_tool_error_and_the_server_goes_on(root, ids):
    srv = create_server(Roots.of([root]), loader=failing_loader(ids["failed"], RuntimeError("disk on fire")))
    message = err(srv, "summarize_run", {"run": ids["failed"]})
    assert message.startswith("summarize_run failed inside runwise (RuntimeError: disk on fire). This is a runwise bug")
    assert ok(srv, "get_keys", {"run": ids["finished"]}).startswith(f"keys of {ids['finished']} ")


def test_an_unreadable_run_is_skipped_and_named_in_lists(root, ids):
    srv = create_server(Roots.of([root]), loader=failing_loader(ids["failed"], UnreadableLog("run.wandb: bad magic")))
    text = ok(srv, "list_runs", {"limit": 100})
    assert text.endswith(f"skipped 1 unreadable run(s): {ids['failed']}: run.wandb: bad magic\n")
    assert ids["finished"] in text
    assert "1 runs" not in text


def test_a_run_without_history_says_why(root, ids):
    def empty(ref):
        run = source_named(ref.source).load(ref)
        return Run(id=run.id, name=run.name, source=run.source, path=run.path, exited=True, exit_code=1,
                   console_tail=["RuntimeError: CUDA out of memory"])

    srv = create_server(Roots.of([root]), loader=empty)
    message = err(srv, "get_history", {"run": ids["failed"]})
    assert message == (f"run {ids['failed']} (will-fail) has no metric history: it logged 0 history rows; "
                       "it failed with exit code 1; last console line: RuntimeError: CUDA out of memory")


def test_a_call_that_outlives_the_timeout_is_answered_and_later_calls_work(root, ids):
    entered, release = threading.Event(), threading.Event()
    loads: list[str] = []

    def slow(ref):
        loads.append(ref.id)
        if ref.id == ids["wide"]:
            entered.set()
            release.wait(60)
        return source_named(ref.source).load(ref)

    runner = Runner(Workspace(Roots.of([root]), loader=slow), timeout_s=0.2)
    srv = server_for(runner)
    try:
        assert err(srv, "get_keys", {"run": ids["wide"]}).startswith("get_keys did not finish within 0.2 s")
        assert entered.wait(60)  # the abandoned read holds the lock from here on
        # the next call waits for that lock, and is answered within its time too
        assert err(srv, "get_config", {"run": ids["console"]}).startswith("get_config did not finish within 0.2 s")
    finally:
        release.set()
    runner.timeout_s = 60
    assert ok(srv, "get_keys", {"run": ids["finished"]}).startswith(f"keys of {ids['finished']} ")
    assert ids["console"] not in loads  # the answered call never started its read


def test_a_call_the_client_cancels_leaves_the_server_serving(root, ids):
    entered, release = threading.Event(), threading.Event()

    def slow(ref):
        if ref.id == ids["wide"]:
            entered.set()
            release.wait(60)
        return source_named(ref.source).load(ref)

    srv = server_for(Runner(Workspace(Roots.of([root]), loader=slow)))

    async def go() -> str:
        async with Client(srv) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "get_keys", {"run": ids["wide"]})
                assert await anyio.to_thread.run_sync(entered.wait, 60)
                tg.cancel_scope.cancel()  # the caller gives up while the read is blocked
            release.set()
            result = await client.call_tool("get_keys", {"run": ids["finished"]})
            assert not result.is_error
            return text_of(result)

    try:
        assert anyio.run(go).startswith(f"keys of {ids['finished']} ")
    finally:
        release.set()


def test_progress_is_reported(server, ids):
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    result = call(server, "summarize_run", {"run": ids["finished"]}, progress_callback=on_progress)
    assert not result.is_error
    assert seen == [(0, 2, "finding runs"), (1, 2, f"reading run {ids['finished']}"), (2, 2, "analysing")]
    seen.clear()
    call(server, "find_best_run", {"metric": "loss"}, progress_callback=on_progress)
    messages = [m for _, _, m in seen]
    assert messages[-1] == "analysing" and len(messages) == 7  # 6 runs, then the analysis
    assert all(m.startswith("reading run ") for m in messages[:-1])


def test_compare_progress_keeps_counting_up_across_the_two_runs(server, ids):
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    f, x = ids["finished"], ids["failed"]
    assert not call(server, "compare_runs", {"run_a": f, "run_b": x}, progress_callback=on_progress).is_error
    assert seen == [(0, 2, "finding runs"), (1, 2, f"reading run {f}"), (2, 2, "analysing"),
                    (3, None, "finding runs"), (4, None, f"reading run {x}"), (5, None, "analysing")]


def test_a_long_read_sends_heartbeats_between_steps(root, ids):
    wide = ids["wide"]
    seen: list[tuple[float, float | None, str | None]] = []
    beats = threading.Event()

    def slow(ref):
        if ref.id == wide:
            assert beats.wait(30), "no heartbeat while the read was blocked"
        return source_named(ref.source).load(ref)

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))
        if sum("still working" in (m or "") for _, _, m in seen) >= 2:
            beats.set()

    srv = server_for(Runner(Workspace(Roots.of([root]), loader=slow), heartbeat_s=0.05))
    assert not call(srv, "get_keys", {"run": wide}, progress_callback=on_progress).is_error
    values = [v for v, _, _ in seen]
    assert values == sorted(set(values)), values  # strictly increasing
    assert seen[:2] == [(0, 2, "finding runs"), (1, 2, f"reading run {wide}")]
    analysing = seen.index((2, 2, "analysing"))
    reading_beats, later = seen[2:analysing], seen[analysing + 1:]
    assert len(reading_beats) >= 2
    assert all(1 < v < 2 and t == 2 and m.startswith(f"reading run {wide} (still working, ")
               for v, t, m in reading_beats)
    # rendering 300 keys may take a heartbeat or two as well
    assert all(2 < v < 3 and m.startswith("analysing (still working, ") for v, t, m in later)


def test_concurrent_calls_on_one_connection_all_get_their_own_answer(server, ids):
    f, w = ids["finished"], ids["wide"]
    calls = [("get_keys", {"run": w, "max_tokens": 300}), ("get_history", {"run": f, "keys": ["lr"], "samples": 20}),
             ("summarize_run", {"run": "nope"}), ("list_runs", {}), ("get_stats", {"run": f}),
             ("analyze_local_log", {"path": "logs/broken.jsonl"})] * 5
    expected = [call(server, name, args) for name, args in calls]

    async def go():
        results: list[Any] = [None] * len(calls)
        async with Client(server) as client:
            async def one(i: int) -> None:
                results[i] = await client.call_tool(*calls[i])

            async with anyio.create_task_group() as tg:
                for i in range(len(calls)):
                    tg.start_soon(one, i)
        return results

    got = anyio.run(go)
    assert [(r.is_error, text_of(r)) for r in got] == [(r.is_error, text_of(r)) for r in expected]


def test_list_runs_rescans_so_new_runs_appear(tmp_path):
    write_logs(tmp_path / "a")
    srv = create_server(Roots.of([tmp_path]))
    assert ok(srv, "list_runs", {}).count("metrics-") == 2
    write_logs(tmp_path / "b")
    assert ok(srv, "list_runs", {}).count("metrics-") == 4


def test_runs_found_through_a_symlink_out_of_the_roots_are_not_read(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    write_logs(inside / "own")
    write_logs(outside)
    (inside / "leak.jsonl").symlink_to(outside / "metrics.jsonl")
    srv = create_server(Roots.of([inside]))
    assert [r for r in Catalog([inside]).refs() if r.paths[0].name == "leak.jsonl"] == []  # never discovered
    text = ok(srv, "list_runs", {"limit": 100})
    assert text.count("metrics-") == 2 and "leak" not in text  # the two runs of inside/own/metrics.jsonl
    message = err(srv, "analyze_local_log", {"path": str(inside / "leak.jsonl")})
    assert message.startswith(f"{inside / 'leak.jsonl'} resolves to {outside / 'metrics.jsonl'}, outside the folders")
