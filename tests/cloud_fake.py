"""A small W&B-compatible GraphQL endpoint on 127.0.0.1, for testing the cloud path offline.

The installed wandb client (0.31: ``wandb.Api`` hands every GraphQL request to its
``wandb-core`` sidecar, which does the HTTP) is pointed at it with ``WANDB_BASE_URL``. The
endpoint answers the operations that client really sends, by ``operationName``; their query
texts, as recorded from the client's own requests, are kept in ``tests/data/cloud/queries/``
and a test checks the client still sends exactly those. Data comes back shaped as W&B returns
it: ``config``, ``summaryMetrics`` and ``systemMetrics`` as JSON strings, the config's
``{"value": ..., "desc": ...}`` wrapping, ``historyKeys`` with type counts and ``lastStep``,
full history as JSON lines, sampled history as one list per spec, cursor pagination.

Failure modes (``FakeWandb.mode``): ``"ok"``, ``"http500"`` (every GraphQL request),
``"http404"`` (no GraphQL endpoint: not a W&B server), ``"slow"``
(sleeps ``delay`` seconds before answering), and a wrong API key always gets HTTP 401.
Every request is logged in :attr:`FakeWandb.requests`; with ``record_dir`` set, each new
operation's query text is written there (how the recorded texts were made).
"""

from __future__ import annotations

import base64
import json
import math
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: The fake's one valid API key (W&B keys are 40 characters).
GOOD_KEY = "f" * 40
BAD_KEY = "0" * 40
QUERIES_DIR = Path(__file__).parent / "data" / "cloud" / "queries"


def iso(t: float) -> str:
    """A time as W&B's GraphQL DateTime: UTC, seconds, no zone suffix."""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class FakeRun:
    """One run as the server stores it. ``history`` rows carry ``_step``, ``_runtime`` and
    ``_timestamp`` as wandb writes them; ``config`` is the user's (nested) config."""

    id: str
    display_name: str
    state: str
    created_at: float
    heartbeat_at: float
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    system_metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    group: str | None = None
    job_type: str | None = None
    notes: str | None = None
    parquet: bytes | None = None  # the history as W&B exported it (``history.parquet``)
    parquet_rows: int | None = None  # rows in that export; later rows are live data (None: all)

    def history_keys(self) -> dict[str, Any]:
        """``historyKeys`` as W&B computes it: per key the count of each value type."""
        keys: dict[str, dict[str, int]] = {}
        for row in self.history:
            for k, v in row.items():
                kind = _type_name(v)
                keys.setdefault(k, {})
                keys[k][kind] = keys[k].get(kind, 0) + 1
        last = max((r["_step"] for r in self.history), default=-1)
        return {"keys": {k: {"typeCounts": [{"type": t, "count": c} for t, c in tc.items()]}
                         for k, tc in keys.items()},
                "lastStep": last}

    def node(self, full: bool, project_id: int) -> dict[str, Any]:
        """The run as the Runs/Run queries return it (lightweight or full fragment)."""
        out: dict[str, Any] = {
            "projectId": project_id,
            "id": base64.b64encode(f"Run:v1:{self.id}:proj:ent".encode()).decode(),
            "tags": list(self.tags),
            "name": self.id,
            "displayName": self.display_name,
            "sweepName": None,
            "state": self.state,
            "group": self.group,
            "jobType": self.job_type,
            "commit": None,
            "readOnly": False,
            "createdAt": iso(self.created_at),
            "heartbeatAt": iso(self.heartbeat_at),
            "description": self.notes,
            "notes": self.notes,
            "historyLineCount": len(self.history),
            "user": {"name": "Test User", "username": "tester"},
        }
        if full:
            config = {k: {"desc": None, "value": v} for k, v in self.config.items()}
            config["_wandb"] = {"desc": None, "value": {"cli_version": "0.31.0", "python_version": "3.11"}}
            summary = dict(self.summary)
            summary["_wandb"] = {"runtime": int(self.heartbeat_at - self.created_at)}
            out.update(config=_dumps(config), summaryMetrics=_dumps(summary),
                       systemMetrics=_dumps(self.system_metrics), historyKeys=self.history_keys())
        return out


def recorded_queries() -> dict[str, str]:
    """The recorded query texts, by operation name."""
    if not QUERIES_DIR.is_dir():
        return {}
    return {p.stem: p.read_text() for p in sorted(QUERIES_DIR.glob("*.graphql"))}


def _normal(query: str) -> str:
    """A query's text with whitespace runs made one space (indentation is not the query)."""
    return " ".join(query.split())


def _operation_name(query: str) -> str:
    """The operation's name from its text, for clients that send no ``operationName``."""
    match = re.search(r"\b(?:query|mutation)\s+(\w+)", query)
    return match.group(1) if match else ""


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return str(v.get("_type", "map"))
    return "unknown"


def _dumps(value: Any) -> str:
    """JSON as W&B writes it: NaN and infinities as bare tokens."""
    return json.dumps(value, allow_nan=True)


def sample_rows(rows: list[dict[str, Any]], samples: int) -> list[dict[str, Any]]:
    """``samples`` rows evenly spaced over ``rows``, first and last included (all when fewer)."""
    if len(rows) <= samples:
        return list(rows)
    if samples <= 1:
        return [rows[-1]]
    idx = sorted({round(i * (len(rows) - 1) / (samples - 1)) for i in range(samples)})
    return [rows[i] for i in idx]


class FakeWandb:
    """The endpoint: ``with FakeWandb(projects) as fake: fake.base_url``.

    ``projects`` maps ``"entity/project"`` to its runs (any order; served as the query's
    ``order`` asks).
    """

    def __init__(self, projects: dict[str, list[FakeRun]] | None = None, *, mode: str = "ok",
                 delay: float = 0.0, api_key: str = GOOD_KEY, record_dir: Path | None = None) -> None:
        self.projects = projects or {}
        self.mode = mode
        self.delay = delay
        self.api_key = api_key
        self.record_dir = record_dir
        self.requests: list[dict[str, Any]] = []
        #: The query texts the installed client was recorded sending, by operation. Unless
        #: recording, a query that differs from its recording is refused (HTTP 400), so every
        #: test also checks that the client still sends what the fake was built for.
        self.recorded = recorded_queries()
        self.unrecorded: list[str] = []
        #: Whether the live history still answers for exported rows (W&B's does not; set to
        #: test that rows served twice are read once).
        self.live_keeps_exported = False
        self.in_flight = 0
        self.max_in_flight = 0  # the most GraphQL requests answered at once
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeWandb":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                fake._handle(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                return  # requests are kept in fake.requests, not printed

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def operations(self) -> list[str]:
        """The GraphQL operation names received, in order."""
        with self.lock:
            return [r["operation"] for r in self.requests if r["operation"]]

    # -- one request ----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._handle_one(h)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle_one(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        if h.path.startswith("/files/"):
            self._file(h)
            return
        if not h.path.startswith("/graphql"):
            # wandb-core's own telemetry (/sdk/otel/...) and anything else: accepted, ignored.
            self._reply(h, 200, b"{}")
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._reply(h, 400, b'{"errors":[{"message":"body is not JSON"}]}')
            return
        query = body.get("query", "")
        op = body.get("operationName") or _operation_name(query)
        with self.lock:
            self.requests.append({"operation": op, "variables": body.get("variables") or {}, "t": time.monotonic(),
                                  "query": query, "auth": h.headers.get("Authorization", "")})
        self._record(op, query)
        if self.mode == "slow":
            # Sleep in slices so shutting the fake down does not wait for the whole delay.
            self._closing.wait(self.delay)
        if not self._authorized(h.headers.get("Authorization", "")):
            self._reply(h, 401, _dumps({"errors": [{"message": "user is not logged in"}]}).encode())
            return
        if self.record_dir is None and _normal(self.recorded.get(op, "")) != _normal(query):
            with self.lock:
                self.unrecorded.append(op)
            self._reply(h, 400, _dumps({"errors": [{"message": f"fake: query {op!r} differs from "
                                                    f"tests/data/cloud/queries/{op}.graphql"}]}).encode())
            return
        if self.mode == "http500":
            self._reply(h, 500, b'{"errors":[{"message":"Internal Server Error"}]}')
            return
        if self.mode == "http404":  # a web server that is not W&B (a wrong WANDB_BASE_URL)
            self._reply(h, 404, b"404 page not found", "text/plain")
            return
        try:
            data = self._answer(op, body.get("variables") or {})
        except KeyError as e:
            self._reply(h, 400, _dumps({"errors": [{"message": f"fake: unknown operation {e}"}]}).encode())
            return
        self._reply(h, 200, _dumps({"data": data}).encode())

    def _file(self, h: BaseHTTPRequestHandler) -> None:
        """A run's exported history file, as the signed URL in ``parquetUrls`` serves it."""
        run_id = h.path.split("/")[2]
        run = next((r for r in iter_runs(self.projects) if r.id == run_id and r.parquet), None)
        if run is None:
            self._reply(h, 404, b"not found")
            return
        with self.lock:
            self.requests.append({"operation": "", "variables": {}, "query": "", "file": h.path, "auth": ""})
        self._reply(h, 200, run.parquet or b"", "application/octet-stream")

    def _reply(self, h: BaseHTTPRequestHandler, status: int, payload: bytes,
               content_type: str = "application/json") -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (its timeout); nothing to answer

    def _authorized(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user_key = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        return user_key == f"api:{self.api_key}"

    def _record(self, op: str, query: str) -> None:
        if self.record_dir is None or not op:
            return
        self.record_dir.mkdir(parents=True, exist_ok=True)
        (self.record_dir / f"{op}.graphql").write_text(query)

    # -- the operations -------------------------------------------------------------------
    def _answer(self, op: str, v: dict[str, Any]) -> dict[str, Any]:
        if op in ("Viewer", "GetDefaultEntity"):
            return {"viewer": {"id": "VXNlcjox", "entity": "tester", "username": "tester",
                               "email": "tester@example.com", "flags": "{}", "teams": {"edges": []}}}
        if op == "Runs":
            return self._runs(v)
        if op == "Run":
            run, pid = self._run(v)
            return {"project": None if pid is None else {"run": None if run is None else run.node(True, pid)}}
        if op in ("RunFullHistory", "RunSampledHistory", "RunHistoryKeys", "RunParquetHistory", "HistoryPage"):
            run, pid = self._run(v)
            if pid is None:
                return {"project": None}
            if run is None:
                return {"project": {"run": None}}
            if op == "RunHistoryKeys":
                return {"project": {"run": {"historyKeys": run.history_keys()}}}
            if op == "RunParquetHistory":
                # Nothing exported to parquet yet: every row is live data (a running or
                # recent run; exported runs would list parquet file URLs instead).
                urls = [f"{self.base_url}/files/{run.id}/history.parquet"] if run.parquet else []
                exported = max((r["_step"] for r in _parquet_rows(run)), default=-1) if run.parquet else -1
                live = [r for r in self._live(run, v) if r["_step"] > exported]
                return {"project": {"run": {"parquetHistory": {"parquetUrls": urls, "liveData": live}}}}
            if op == "RunFullHistory":
                rows = sample_rows(run.history, int(v.get("samples") or 500))
                return {"project": {"run": {"history": [_dumps(r) for r in rows]}}}
            if op == "HistoryPage":
                # The live store: once rows are exported to parquet, only later rows are here.
                lo, hi = int(v["minStep"]), int(v["maxStep"])
                exported = len(_parquet_rows(run)) if run.parquet and not self.live_keeps_exported else 0
                live = run.history[exported:]
                rows = [r for r in live if lo <= r["_step"] < hi][: int(v["pageSize"])]
                return {"project": {"run": {"history": [_dumps(r) for r in rows]}}}
            out = []
            for spec_text in v["specs"]:
                spec = json.loads(spec_text)
                keys = spec["keys"]
                lo, hi = spec.get("minStep", -math.inf), spec.get("maxStep", math.inf)
                rows = [{k: r[k] for k in keys} for r in run.history
                        if all(k in r for k in keys) and lo <= r["_step"] < hi]
                out.append(sample_rows(rows, int(spec.get("samples", 500))))
            return {"project": {"run": {"sampledHistory": out}}}
        raise KeyError(op)

    @staticmethod
    def _live(run: FakeRun, v: dict[str, Any]) -> list[dict[str, Any]]:
        keys = v.get("liveKeys") or []
        if not keys:
            return [dict(r) for r in run.history]
        wanted = ["_step", *keys]
        return [{k: r[k] for k in wanted if k in r} for r in run.history if all(k in r for k in keys)]

    def _project(self, v: dict[str, Any]) -> tuple[list[FakeRun] | None, int]:
        path = f"{v.get('entity')}/{v.get('project')}"
        if path not in self.projects:
            return None, 0
        return self.projects[path], 1000 + sorted(self.projects).index(path)

    def _run(self, v: dict[str, Any]) -> tuple[FakeRun | None, int | None]:
        runs, pid = self._project(v)
        if runs is None:
            return None, None
        # The Python client names the run ``name``; wandb-core's own queries ``runName``/``run``.
        name = v.get("name") or v.get("runName") or v.get("run")
        return next((r for r in runs if r.id == name), None), pid

    def _runs(self, v: dict[str, Any]) -> dict[str, Any]:
        runs, pid = self._project(v)
        if runs is None:
            return {"project": None}
        order = v.get("order") or "+created_at"
        field_name = order.lstrip("+-")
        key = {"created_at": lambda r: r.created_at, "heartbeat_at": lambda r: r.heartbeat_at}[field_name]
        ordered = sorted(runs, key=key, reverse=order.startswith("-"))
        start = int(base64.b64decode(v["cursor"]).decode()) if v.get("cursor") else 0
        per_page = int(v.get("perPage") or 50)
        page = ordered[start:start + per_page]
        edges = [{"node": r.node(False, pid), "cursor": base64.b64encode(str(start + i + 1).encode()).decode()}
                 for i, r in enumerate(page)]
        return {"project": {
            "internalId": str(pid), "runCount": len(runs), "readOnly": False,
            "runs": {"edges": edges, "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None,
                                                  "hasNextPage": start + per_page < len(ordered)}},
        }}


# -- data ---------------------------------------------------------------------------------

def curve_rows(n: int, *, start: float, every: int = 1, val_every: int = 0, nan_at: int | None = None) -> list[dict[str, Any]]:
    """History rows for a loss curve: ``loss`` = 2·exp(-i/40) + 0.1 at steps 0, every, 2·every...;
    ``val_loss`` every ``val_every`` rows; ``lr`` constant; one NaN loss at row ``nan_at``."""
    rows = []
    for i in range(n):
        step = i * every
        row: dict[str, Any] = {"_step": step, "_runtime": float(i), "_timestamp": start + i,
                               "loss": 2.0 * math.exp(-i / 40) + 0.1, "lr": 0.001}
        if nan_at is not None and i == nan_at:
            row["loss"] = float("nan")
        if val_every and i % val_every == 0:
            row["val_loss"] = 2.2 * math.exp(-i / 40) + 0.15
        if i == 3:
            row["samples"] = {"_type": "table-file", "path": "media/table/samples_3.table.json", "ncols": 2, "nrows": 4}
        rows.append(row)
    return rows


def _parquet_rows(run: FakeRun) -> list[dict[str, Any]]:
    """The rows a run's parquet export holds: all but its live tail (``parquet_rows``)."""
    return run.history[: run.parquet_rows] if run.parquet_rows is not None else run.history


def iter_runs(projects: dict[str, list[FakeRun]]) -> Iterator[FakeRun]:
    for runs in projects.values():
        yield from runs


#: The ``exported`` run: 120 rows, the first 100 exported to ``tests/data/cloud/exported.parquet``.
EXPORTED_START = 1_790_000_000.0
EXPORTED_ROWS = 100
PARQUET_FILE = Path(__file__).parent / "data" / "cloud" / "exported.parquet"


def exported_history() -> list[dict[str, Any]]:
    """The ``exported`` run's full history (the parquet file holds its first rows)."""
    return curve_rows(120, start=EXPORTED_START, val_every=10, nan_at=7)


def exported_run() -> FakeRun:
    """A finished run whose history W&B has partly exported to parquet: a scan reads the
    export, then the rows logged after it from the GraphQL history."""
    return FakeRun("exported", "exported-run", "finished", EXPORTED_START, EXPORTED_START + 120,
                   config={"lr": 0.001}, summary={"loss": 0.5}, history=exported_history(),
                   parquet=PARQUET_FILE.read_bytes(), parquet_rows=EXPORTED_ROWS)


# -- the standard test project and environment ---------------------------------------------

def standard_project(now: float) -> list[FakeRun]:
    """One run per server state (creation times one hour apart, oldest first), plus a long
    finished run. ``stale`` is the newest: listed running, but its heartbeat is an hour old."""
    specs = [  # id, state, heartbeat age (s), rows
        ("long", "finished", 3000, 3000),
        ("failed1", "failed", 3000, 40),
        ("crashold", "crashed", 3000, 40),
        ("crashnew", "crashed", 30, 40),
        ("killed1", "killed", 3000, 40),
        ("preempt1", "preempted", 3000, 40),
        ("pending1", "pending", 3000, 0),
        ("live", "running", 10, 40),
        ("stale", "running", 3600, 40),
    ]
    runs = []
    for i, (run_id, state, age, n) in enumerate(specs):
        created = now - 3600 * (len(specs) - i) - 7200
        runs.append(FakeRun(
            run_id, f"{run_id}-name", state, created, now - age,
            config={"lr": 0.001, "model": {"layers": 4, "width": 128}, "max_steps": 3000, "optimizer": "adam"},
            summary={"loss": 0.25, "_step": max(n - 1, 0), "_runtime": 321.5, "_timestamp": created + n,
                     "best": {"val_loss": 0.3}},
            history=curve_rows(n, start=created, val_every=100 if n > 1000 else 10, nan_at=5 if n else None),
            tags=["cloud", run_id], group="sweep-a", job_type="train", notes=f"notes of {run_id}",
        ))
    return runs


# -- test environment ----------------------------------------------------------------------

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def offline_env(monkeypatch: Any, state_dir: Path, base_url: str | None, api_key: str | None = GOOD_KEY) -> None:
    """Point wandb at the fake and nowhere else.

    ``WANDB_BASE_URL`` names the fake; the key is a fake 40-character one; ``WANDB_MODE`` is
    unset (``wandb.Api`` refuses offline mode); wandb's folders live in ``state_dir``; the
    user's netrc is not read. wandb-core (a Go process started on first use) inherits a proxy
    on a closed local port for any host but 127.0.0.1, so it cannot reach the internet, and
    in this Python process a socket may connect only to 127.0.0.1 or a Unix socket.
    """
    for name in ("WANDB_MODE", "WANDB_ENTITY", "WANDB_PROJECT", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL",
                 "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    if base_url is not None:
        monkeypatch.setenv("WANDB_BASE_URL", base_url)
    if api_key is not None:
        monkeypatch.setenv("WANDB_API_KEY", api_key)
    # wandb saves its service's address in WANDB_SERVICE when it starts one; without this the
    # variable would outlive the test, and wandb runs that other tests start as subprocesses
    # would join this process's service (set-then-delete makes the undo remove it).
    monkeypatch.setenv("WANDB_SERVICE", "")
    monkeypatch.delenv("WANDB_SERVICE")
    monkeypatch.setenv("NETRC", str(state_dir / "no-netrc"))
    # runwise's disk cache: a fresh folder per test (a later fake may get the same port).
    state_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("RUNWISE_CACHE_DIR", tempfile.mkdtemp(prefix="runwise-cache-", dir=state_dir))
    monkeypatch.delenv("RUNWISE_NO_CACHE", raising=False)
    monkeypatch.setenv("WANDB_DIR", str(state_dir / "wandb-dir"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(state_dir / "wandb-cache"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(state_dir / "wandb-config"))
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")

    import socket

    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in _LOCAL_HOSTS:
                raise AssertionError(f"test tried to reach {address!r}: only 127.0.0.1 is allowed")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
