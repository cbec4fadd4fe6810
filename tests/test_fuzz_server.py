"""Every MCP tool called with arguments generated from its published input schema, valid and
invalid: each call is answered (a result, or an error naming the problem), no call reaches
the catch-all "failed inside runwise", the process stays up, and stdout carries protocol only.

The strategies are built from ``tools/list`` itself, so a tool or a cap added later is
fuzzed without touching this file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

import anyio
import anyio.from_thread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types.version import LATEST_HANDSHAKE_VERSION

from runwise.server import create_server
from runwise_core.roots import Roots
from test_fuzz_support import fuzz_settings
from test_server_support import runs_root, server_env

FUZZ = fuzz_settings(150)

#: Strings a model might send: ids, names, keys, globs, paths in and out of the roots.
WORDS = ["latest", "", " ", "loss", "train/*", "val/loss", "lr", "*", "baseline-small", "will-fail", "nope", "a@5",
         "@", "x@50k", "x@-1", "logs/metrics.jsonl", "logs/metrics.jsonl#1", "logs/broken.jsonl", "../../etc/passwd",
         "/etc/passwd", "/", ".", "..", "logs/../..", "~", "logs/\x00", "\u202e", "ö", "run\nname"]


def text_strategy(schema: dict[str, Any]) -> st.SearchStrategy:
    cap = schema.get("maxLength", 200)
    return st.sampled_from([w for w in WORDS if len(w) <= cap]) | st.text(max_size=min(cap, 40))


def valid_value(schema: dict[str, Any]) -> st.SearchStrategy:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum", -10**6), schema.get("maximum", 10**6))
    if kind == "number":
        return st.floats(schema.get("minimum", -1e6), schema.get("maximum", 1e6), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return text_strategy(schema)
    if kind == "array":
        return st.lists(valid_value(schema.get("items", {"type": "string"})), min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 5), 5))
    raise AssertionError(f"a schema type the fuzzer does not know: {schema}")


def invalid_value(schema: dict[str, Any]) -> st.SearchStrategy:
    wrong = st.sampled_from([None, "x", 1.5, -1, True, [], {}, [1, 2], {"a": 1}, 10**30, "1" * 5000])
    kind = schema.get("type")
    extra: list[st.SearchStrategy] = []
    if kind == "integer":
        if "maximum" in schema:
            extra.append(st.integers(schema["maximum"] + 1, schema["maximum"] + 10**9))
        if "minimum" in schema:
            extra.append(st.integers(schema["minimum"] - 10**9, schema["minimum"] - 1))
    if kind == "string" and "maxLength" in schema:
        extra.append(st.just("y" * (schema["maxLength"] + 1)))
    if kind == "array":
        extra.append(st.just([]) if schema.get("minItems") else st.just(["k"] * (schema.get("maxItems", 50) + 1)))
    return st.one_of(wrong, *extra)


def arguments(schema: dict[str, Any], valid: bool) -> st.SearchStrategy:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))

    @st.composite
    def build(draw) -> dict[str, Any]:
        args = {}
        for name, prop in props.items():
            if name in required or draw(st.booleans()):
                args[name] = draw(valid_value(prop))
        if not valid:
            how = draw(st.sampled_from(["bad value", "missing", "unknown key", "not an object"]))
            if how == "bad value" and props:
                name = draw(st.sampled_from(sorted(props)))
                args[name] = draw(invalid_value(props[name]))
            elif how == "missing" and required:
                args.pop(draw(st.sampled_from(sorted(required))))
            elif how == "unknown key":
                args[draw(st.sampled_from(["__class__", "dir", "root", "x" * 300]))] = "/etc"
        return args

    return build()


class Session(tuple):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing case
        return "<in-process client session>"


@pytest.fixture(scope="module")
def session():
    root, _truths = runs_root()
    server = create_server(Roots.of([root]), timeout_s=120)
    with anyio.from_thread.start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Client(server)) as client:
            tools = portal.call(client.list_tools).tools
            yield Session((portal, client, {t.name: t.input_schema for t in tools}))


def _check_answer(name: str, result) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text"
    text = result.content[0].text
    assert "Traceback" not in text and "failed inside runwise" not in text, f"{name}: {text}"
    if result.is_error:
        assert text.startswith(f"Error executing tool {name}: ") and len(text) > len(name) + 30, text
    return text


def call_strategy(schemas: dict[str, Any] | None = None) -> st.SearchStrategy:
    @st.composite
    def build(draw):
        names = sorted(schemas or {})
        name = draw(st.sampled_from(names))
        valid = draw(st.booleans())
        return name, draw(arguments(schemas[name], valid)), valid

    return build()


_SCHEMAS: dict[str, Any] = {}


def _schemas() -> dict[str, Any]:
    """tools/list of a server over the shared root, taken once (strategies need it at import)."""
    if not _SCHEMAS:
        root, _ = runs_root()

        async def go():
            async with Client(create_server(Roots.of([root]))) as client:
                return (await client.list_tools()).tools

        _SCHEMAS.update({t.name: t.input_schema for t in anyio.run(go)})
    return _SCHEMAS


def test_the_fuzzer_knows_every_published_schema():
    schemas = _schemas()
    assert len(schemas) == 11
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            valid_value(prop)  # raises for a type it cannot generate


@FUZZ
@given(data=st.data())
def test_every_tool_with_generated_arguments_answers_without_a_crash(session, data):
    portal, client, schemas = session
    name, args, valid = data.draw(call_strategy(schemas))
    result = portal.call(client.call_tool, name, args)
    text = _check_answer(name, result)
    if not valid and result.is_error and "validation error" in text:
        assert f" for {name}Arguments\n" in text


# -- the real process over stdio ---------------------------------------------------------------------

STDIO_CALLS = 60


def test_stdio_server_survives_generated_calls_and_writes_protocol_only():
    root, _ = runs_root()
    schemas = _schemas()
    calls: list[tuple[str, dict[str, Any]]] = []

    @settings(max_examples=STDIO_CALLS, deadline=None, derandomize=True, database=None)
    @given(call=call_strategy(schemas))
    def collect(call):
        calls.append(call[:2])

    collect()
    env = {**os.environ, **server_env(root)}
    proc = subprocess.Popen([sys.executable, "-m", "runwise.server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd="/")
    guard = threading.Timer(120, proc.kill)  # a hung server fails the test instead of hanging it
    guard.start()
    try:
        def send(msg: dict) -> None:
            proc.stdin.write(json.dumps(msg) + "\n")
            proc.stdin.flush()

        send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {},
                         "clientInfo": {"name": "fuzz", "version": "0"}}})
        assert json.loads(proc.stdout.readline())["id"] == 0
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        replies = []
        for i, (name, args) in enumerate(calls, start=1):
            send({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": args}})
            line = proc.stdout.readline()
            assert line, f"the server closed stdout after call {i} ({name} {args!r}): {proc.stderr.read()[-2000:]}"
            replies.append(json.loads(line))  # one JSON-RPC message per line, nothing else
        assert proc.poll() is None  # still up
        proc.stdin.close()
        rest = proc.stdout.read()
        stderr = proc.stderr.read()
        code = proc.wait()
    finally:
        guard.cancel()
    assert code == 0 and rest == "", stderr[-2000:]
    assert [r["id"] for r in replies] == list(range(1, len(calls) + 1))
    for r, (name, _args) in zip(replies, calls):
        assert r["jsonrpc"] == "2.0" and "result" in r, r
        text = r["result"]["content"][0]["text"]
        assert "Traceback" not in text and "failed inside runwise" not in text, f"{name}: {text}"
    assert "Traceback" not in stderr


def test_stdio_server_answers_when_a_log_holds_text_that_is_not_unicode(tmp_path):
    """Lone surrogates reach strings two ways: a JSON key escaped as ``"\\ud800"`` (valid JSON,
    not valid Unicode) and a file name that is not UTF-8. Every answer, error and progress
    message holding one must still be sent (with a replacement), and the process stay up."""
    (tmp_path / "m.jsonl").write_text('{"step": 0, "loss": 1.0, "\\udcff\\ud800x": 2.0}\n'
                                      '{"step": 1, "loss": 0.5, "\\udcff\\ud800x": 3.0}\n')
    with open(os.fsencode(tmp_path) + b"/odd\xffname.jsonl", "wb") as f:
        f.write(b'{"step": 0, "loss": 1.0}\n')
    env = {**os.environ, **server_env(tmp_path), "RUNWISE_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "runwise.server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd="/")
    guard = threading.Timer(30, proc.kill)  # a server that stops answering fails the test instead of hanging it
    guard.start()
    calls = [("get_keys", {"run": "m-"}), ("list_runs", {}), ("get_history", {"run": "m-", "keys": ["x"]}),
             ("summarize_run", {"run": "odd"})]
    try:
        def send(msg: dict) -> None:
            proc.stdin.write(json.dumps(msg).encode() + b"\n")
            proc.stdin.flush()

        send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {},
                         "clientInfo": {"name": "fuzz", "version": "0"}}})
        assert json.loads(proc.stdout.readline())["id"] == 0
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        replies = []
        for i, (name, args) in enumerate(calls, start=1):
            send({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                  "params": {"name": name, "arguments": args, "_meta": {"progressToken": i}}})
            while True:
                line = proc.stdout.readline()
                assert line, f"no answer to {name}: {proc.stderr.read().decode(errors='replace')[-1500:]}"
                msg = json.loads(line)
                if msg.get("id") == i:
                    replies.append(msg)
                    break
        assert proc.poll() is None
    finally:
        guard.cancel()
        proc.kill()
        proc.wait()
    texts = [r["result"]["content"][0]["text"] for r in replies]
    assert "\ufffdx" in texts[0] or "?x" in texts[0]
    assert not replies[0]["result"]["isError"] and replies[2]["result"]["isError"]
