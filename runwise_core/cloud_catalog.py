"""Runs of one W&B project on a W&B server (cloud or self-hosted): the local Catalog's twin.

:class:`CloudCatalog` has the public methods of :class:`~runwise_core.catalog.Catalog`
(``refs``, ``refresh``, ``load``, ``runs``, ``load_readable``, ``latest_running``, ``select``,
``notes``), so
front ends use either. It talks to the server through ``wandb.Api`` only, via
:mod:`runwise_core.sources.wandb_cloud_client` (lazy import, bounded time, errors made ours)
and maps runs with :mod:`runwise_core.sources.wandb_cloud`.

History is sampled by the server (``run.history(samples=N)``): one request for every key,
then one request per sparse key the row sample left thin (a ``val/loss`` logged every 1,000
steps), and per key the caller names. A full scan (``scan_history``) happens only when exact
figures are asked for (``exact=True``), with progress. Histories are kept in memory and in
runwise's on-disk cache (:mod:`runwise_core.sources.wandb_cloud_cache`), keyed by the run's
last update (state, heartbeat, history length), which one small request per load checks: a
run's history is fetched again only when the run changed.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .cache import RunCache
from .cloud_names import PROJECT_ENV, parse_cloud_selector, parse_project  # noqa: F401 (their old home)
from .catalog import default_cache
from .errors import RunNotFound, RunwiseError, UsageError
from .model import Run, RunState, Series
from .selection import match_run, no_such_run
from .sources.base import RunRef
from .sources.wandb_cloud import (
    SOURCE,
    CloudRunInfo,
    HistoryBuilder,
    HistoryPart,
    build_run,
    state_facts,
)
from .sources.wandb_cloud_cache import entry_name, load_part, save_part
from .sources.wandb_cloud_client import (
    ApiFactory,
    CloudAuthError,
    CloudError,
    CloudConfig,
    CloudUnavailable,
    ProjectNotFound,
    calling,
    make_api,
)
from .sources.wandb_time import parse_time

#: Rows asked of the server's sampled history (the history view shows at most 1,000 per key).
DEFAULT_SAMPLES = 1000
#: Rows per run when loading for a list (a trend and a sparkline need few).
LIST_SAMPLES = 200
#: Runs listed at most (newest first); older ones are still found by id.
DEFAULT_MAX_RUNS = 200
#: Runs per page of the server's run list.
DEFAULT_PAGE_SIZE = 50
#: Values (rows x keys) asked of the all-keys request at most: a run with hundreds of keys
#: gets fewer rows, so the server's answer stays a few megabytes and within the time limit.
ALL_KEYS_VALUES = 300_000
#: Keys fetched on their own per load, beyond the one all-keys request.
MAX_KEYED_REQUESTS = 12
#: Loaded runs kept per catalog.
MEMO_SIZE = 32
#: Runs loaded at once by :meth:`CloudCatalog.runs` (each load waits on the network, not the CPU).
LOAD_WORKERS = 4

#: progress(done, total, message), as the MCP server's progress sink takes it.
Progress = Callable[[float, float | None, str], None]
#: ``cache=`` default: the on-disk cache local runs use (none when RUNWISE_NO_CACHE is set).
DEFAULT_CACHE: Any = object()


@dataclass(frozen=True)
class _Listed:
    """What the run list says about a run, before loading it."""

    id: str
    name: str
    state: str
    created_at: float | None
    heartbeat_at: float | None


class CloudCatalog:
    """The runs of one W&B project, newest first.

    ``project`` is ``ENTITY/PROJECT``. ``base_url`` defaults to ``WANDB_BASE_URL``, else W&B
    cloud. ``api_factory(config, entity)`` builds the ``wandb.Api`` (tests and callers with
    their own API objects pass one). ``exact`` makes every load a full history scan.
    ``cache`` keeps histories on disk between processes (default: the local runs' cache,
    :func:`runwise_core.catalog.default_cache`; None: no disk cache).
    Use it from one thread at a time, as the local catalog (the MCP server holds its lock);
    :meth:`runs` loads several runs at once on threads of its own.
    """

    def __init__(self, project: str, api_factory: ApiFactory | None = None, *, base_url: str | None = None,
                 timeout_s: float | None = None, samples: int = DEFAULT_SAMPLES, exact: bool = False,
                 max_runs: int = DEFAULT_MAX_RUNS, page_size: int = DEFAULT_PAGE_SIZE,
                 progress: Progress | None = None, cache: RunCache | None = DEFAULT_CACHE) -> None:
        self.entity, self.project_name = parse_project(project)
        self.config = CloudConfig(base_url=base_url) if timeout_s is None else CloudConfig(base_url, timeout_s)
        self.samples = samples
        self.exact = exact
        self.max_runs = max_runs
        self.page_size = page_size
        self.progress = progress
        self.cache: RunCache | None = default_cache() if cache is DEFAULT_CACHE else cache
        self.notes: list[str] = []
        self._factory: ApiFactory = api_factory or make_api
        self._api: Any = None
        self._listed: list[_Listed] | None = None
        self._refs: list[RunRef] | None = None
        self._objects: dict[str, Any] = {}
        self._memo: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Run]] = OrderedDict()
        self._lock = threading.Lock()  # guards _objects and _memo while runs() loads in parallel

    @property
    def project(self) -> str:
        """``ENTITY/PROJECT`` (the entity is the key's default when none was given)."""
        return f"{self.entity}/{self.project_name}" if self.entity else self.project_name

    @property
    def base_url(self) -> str:
        return self.config.resolved_url()

    # -- the API ---------------------------------------------------------------------------
    def api(self) -> Any:
        """The ``wandb.Api``, made on first use (that is when wandb is imported)."""
        if self._api is None:
            self._api = self._factory(self.config, self.entity)
            if self.entity is None:
                with calling(self.config, "finding the key's default entity", self.project):
                    self.entity = self._api.settings.get("entity") or self._api.default_entity
                if not self.entity:
                    raise UsageError(f"W&B project {self.project_name!r} needs its entity: give ENTITY/PROJECT")
        return self._api

    # -- discovery -------------------------------------------------------------------------
    def refs(self) -> list[RunRef]:
        """The project's runs, newest first (at most ``max_runs``; more are noted)."""
        if self._refs is None:
            self._listed = self._list()
            self._refs = [RunRef(SOURCE, r.id, (), r.created_at or 0.0, r.name) for r in self._listed]
        return self._refs

    def refresh(self) -> None:
        """Forget the run list (loaded runs stay cached until the server says they changed)."""
        self._refs = None
        self._listed = None
        self.notes.clear()
        if self._api is not None:
            self._api.flush()  # wandb keeps the run list it paged through; drop it too

    def _list(self) -> list[_Listed]:
        api = self.api()
        out: list[_Listed] = []
        with calling(self.config, f"listing runs of {self.project}", self.project):
            runs = api.runs(self.project, order="-created_at", per_page=self.page_size)
            for obj in runs:
                if len(out) >= self.max_runs:
                    break
                out.append(_Listed(str(obj.id), str(obj.name or obj.id), str(obj.state or ""),
                                   parse_time(_attr(obj, "createdAt")), parse_time(_attr(obj, "heartbeatAt"))))
            total = len(runs)
        if total > len(out):
            self.notes.append(f"{self.project} has {total:,} runs; the newest {len(out):,} are listed "
                              "(older ones are found by id)")
        return out

    # -- loading ---------------------------------------------------------------------------
    def load(self, ref: RunRef, *, keys: Sequence[str] | None = None, samples: int | None = None,
             exact: bool | None = None, progress: Progress | None = None) -> Run:
        """The run behind ``ref``: metadata fresh from the server, history from the cache
        while the run has not changed.

        ``keys`` (exact names or globs) are fetched one request each at full sample
        resolution, besides the all-keys sample. ``exact`` scans every history row
        (``scan_history``), reporting ``progress(rows_done, rows_total, message)``.
        """
        exact = self.exact if exact is None else exact
        samples = self.samples if samples is None else max(10, int(samples))
        info, obj = self._info(ref.id)
        wanted = _expand(keys or (), info)
        memo_key = (ref.id, exact, None if exact else samples, tuple(wanted))
        with self._lock:
            hit = self._memo.get(memo_key)
            if hit is not None and hit[0] == info.marker():
                self._memo.move_to_end(memo_key)
                return hit[1]
        fetched_at = time.time()
        name = entry_name(self.base_url, info, exact, samples, wanted)
        part = load_part(self.cache, name, info) if self.cache is not None else None
        if part is None:
            if exact:
                part = self._scan(info, obj, progress or self.progress)
            else:
                part = self._sampled(info, obj, samples, wanted)
            if self.cache is not None:
                save_part(self.cache, name, info, part)
        run = build_run(info, part, fetched_at)
        with self._lock:
            self._memo[memo_key] = (info.marker(), run)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return run

    def runs(self, limit: int | None = None, *, state: RunState | None = None,
             now: float | None = None) -> list[Run]:
        """Loaded runs, newest first, up to LOAD_WORKERS at once (sampled lightly, even in an
        ``exact`` catalog: a list needs a trend, not every point).

        With ``state``, only runs the run list already places in that state are loaded (the
        list carries the server's state and heartbeat, which decide it), and ``limit`` counts
        the runs in that state: ``runwise list --state running`` on a project of hundreds of
        runs loads only the running ones.
        """
        refs = self.refs()
        if state is not None:
            when = time.time() if now is None else now
            refs = [ref for ref, listed in zip(refs, self._listed or []) if _listed_state(listed, when) is state]
        if limit is not None:
            refs = refs[:limit]
        loaded = self._load_many(refs)
        for result in loaded:
            if isinstance(result, BaseException):
                raise result
        return [r for r in loaded if isinstance(r, Run)]

    def load_readable(self, refs: Sequence[RunRef]) -> tuple[list[Run], list[str]]:
        """Load ``refs`` (several at once, sampled lightly, as :meth:`runs`), skipping the
        ones that cannot be read: one bad run must not hide the others. Returns the runs and
        one line per skipped run (its id and why). A failure of the server rather than of one
        run (a refused key, a server down or too slow, the project gone) is raised instead."""
        runs: list[Run] = []
        skipped: list[str] = []
        for ref, result in zip(refs, self._load_many(refs)):
            if isinstance(result, _SERVER_FAILURES):
                raise result
            if isinstance(result, BaseException):
                skipped.append(f"{ref.id}: {result}")
            else:
                runs.append(result)
        return runs, skipped

    def _load_many(self, refs: Sequence[RunRef]) -> list[Run | RunwiseError]:
        """Each ref's run, or the RunwiseError its load raised, up to LOAD_WORKERS at once.

        After a server failure no further load starts (each would wait out the same time
        limit): the loads not started get that error too, so the whole call stays within
        about one time limit.
        """
        samples = min(self.samples, LIST_SAMPLES)
        failed: list[RunwiseError] = []

        def one(ref: RunRef) -> Run | RunwiseError:
            if failed:
                return failed[0]
            try:
                return self.load(ref, samples=samples, exact=False)
            except RunwiseError as err:
                if isinstance(err, _SERVER_FAILURES):
                    failed.append(err)
                return err

        if len(refs) <= 1:
            return [one(ref) for ref in refs]
        with ThreadPoolExecutor(max_workers=min(LOAD_WORKERS, len(refs)), thread_name_prefix="runwise-cloud") as pool:
            return list(pool.map(one, refs))

    def listed_state(self, ref: RunRef, now: float | None = None) -> RunState | None:
        """The state the run list gives ``ref`` without loading it (None: not listed)."""
        self.refs()
        for listed in self._listed or []:
            if listed.id == ref.id:
                return _listed_state(listed, time.time() if now is None else now)
        return None

    def latest_running(self, now: float | None = None) -> Run | None:
        """The newest run whose state is running, if any (only runs the server lists as
        running or preempting are loaded)."""
        self.refs()
        for listed, ref in zip(self._listed or [], self.refs()):
            if listed.state.lower() not in ("running", "preempting"):
                continue
            run = self.load(ref)
            if run.state(now) is RunState.RUNNING:
                return run
        return None

    def _info(self, run_id: str) -> tuple[CloudRunInfo, Any]:
        """The run's metadata, asked of the server now (one request)."""
        api = self.api()
        path = f"{self.project}/{run_id}"
        with calling(self.config, f"reading run {run_id}", self.project, run_id):
            with self._lock:
                obj = self._objects.get(run_id)
            if obj is None:
                obj = api.run(path)
                with self._lock:
                    self._objects[run_id] = obj
            else:
                obj.load(force=True)
            info = run_info(obj, self.entity or "", self.project_name)
        return info, obj

    def _sampled(self, info: CloudRunInfo, obj: Any, samples: int, wanted: list[str]) -> HistoryPart:
        builder = HistoryBuilder()
        counts = info.numeric_counts()
        keys = len(counts) + len(info.other_kinds())
        rows = max(10, min(samples, ALL_KEYS_VALUES // max(keys, 1)))
        with calling(self.config, f"reading the history of run {info.id}", self.project, info.id):
            builder.add_rows(obj.history(samples=rows, pandas=False))
        rows_read = builder.rows
        metrics = builder.metrics()
        chosen, left = _keyed(wanted, counts, metrics, samples)
        extra: dict[str, Series] = {}
        unread: list[str] = []
        for key in chosen:
            one = HistoryBuilder()
            try:
                with calling(self.config, f"reading key {key} of run {info.id}", self.project, info.id):
                    one.add_rows(obj.history(samples=samples, keys=[key], pandas=False))
            except _SERVER_FAILURES:
                raise
            except CloudError:
                # wandb-core 0.31 cannot parse a per-key sample holding a bare NaN token
                # ("invalid character 'N'"); the key's points from the all-keys sample stand.
                unread.append(key)
                continue
            series = one.metrics().get(key)
            if series is not None:
                extra[key] = series
        notes: list[str] = []
        if unread:
            notes.append(f"{len(unread)} key(s) could not be sampled on their own ({', '.join(unread[:4])}; "
                         "the W&B client could not read the answer, e.g. a NaN): their points come from the "
                         "all-keys sample; runwise --exact reads every row")
        sampled: tuple[int, int] | None = None
        if info.history_lines > rows_read or any(len(extra[k]) < counts.get(k, 0) for k in extra):
            sampled = (rows_read, max(info.history_lines, rows_read))
            note = (f"history sampled by the W&B server: {rows_read:,} of {info.history_lines:,} rows, "
                    f"at most {samples:,} points per key")
            if extra:
                note += f"; {len(extra)} key(s) sampled on their own ({', '.join(sorted(extra)[:6])}"
                note += ", ...)" if len(extra) > 6 else ")"
            if left:
                note += f"; {len(left)} sparse key(s) may be thin ({', '.join(left[:4])}): ask for them by name"
            notes.append(note + "; counts, extremes and statistics are over the sample: "
                                "load with exact=True (runwise --exact) for every point")
        return builder.part(notes, extra, sampled)

    def _scan(self, info: CloudRunInfo, obj: Any, progress: Progress | None) -> HistoryPart:
        builder = HistoryBuilder()
        total = info.history_lines or None
        message = f"scanning the full history of run {info.id}"
        if progress is not None:
            progress(0, total, message)
        last: float | None = None
        repeated = 0
        with calling(self.config, f"scanning the history of run {info.id}", self.project, info.id):
            for row in obj.scan_history(page_size=1000):
                # W&B's _step rises row by row, so a row not after the last one kept is a
                # repeat (wandb-core 0.31 returns a page's rows from both the parquet export
                # and the live history when the page spans the export's end).
                step = row.get("_step")
                if isinstance(step, (int, float)) and not isinstance(step, bool):
                    if last is not None and step <= last:
                        repeated += 1
                        continue
                    last = step
                builder.add(row)
                if progress is not None and builder.rows % 1000 == 0:
                    progress(builder.rows, total, message)
        if progress is not None and builder.rows % 1000:
            progress(builder.rows, total, message)
        note = f"history read in full from the W&B server ({builder.rows:,} rows)"
        if repeated:
            note += f"; {repeated:,} repeated row(s) skipped"
        return builder.part([note])

    # -- selection -------------------------------------------------------------------------
    def select(self, selector: str) -> RunRef:
        """The one run ``selector`` names: ``latest``, an id, a unique id prefix, a display
        name, ``ENTITY/PROJECT/ID`` or a run URL of this project. An id beyond the listed
        runs is looked up on the server."""
        selector = selector.strip()
        cloud = parse_cloud_selector(selector)
        if cloud is not None:
            if cloud[0] != self.project:
                raise UsageError(f"run {selector} is in W&B project {cloud[0]}, not {self.project}")
            selector = cloud[1]
        refs = self.refs()
        if selector in ("latest", ""):
            if not refs:
                raise RunNotFound(f"no runs in W&B project {self.project} at {self.base_url}; "
                                  "check ENTITY/PROJECT (--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)")
            return refs[0]
        found = match_run(refs, selector, _listed_name)
        if found is not None:
            return found
        if re.fullmatch(r"[\w\-]+", selector) and len(refs) >= self.max_runs:
            info, _ = self._info(selector)  # beyond the listed runs: ask the server
            return RunRef(SOURCE, info.id, (), info.created_at or 0.0, info.name)
        raise no_such_run(selector, refs, _listed_name, where=f" in W&B project {self.project}",
                          see=f"runwise list --wandb {self.project}")


def _listed_name(ref: RunRef) -> str:
    """A listed run's display name (the run list carries it; no request needed)."""
    return ref.name_hint or ref.id


#: Failures of the server or the project, not of one run: loading other runs would fail too.
_SERVER_FAILURES = (CloudAuthError, CloudUnavailable, ProjectNotFound)


def _listed_state(listed: _Listed, now: float) -> RunState:
    """The runwise state of a listed run, by the same facts a loaded run gets."""
    facts = state_facts(listed.state, listed.heartbeat_at, listed.created_at, now)
    probe = Run(id=listed.id, name=listed.name, source=SOURCE, path="", exited=facts.exited,
                exit_code=facts.exit_code, records_exits=facts.records_exits, last_activity=facts.last_activity)
    return probe.state(now)


def run_info(obj: Any, entity: str, project: str) -> CloudRunInfo:
    """A ``wandb.apis.public.Run`` (loaded in full) as a plain :class:`CloudRunInfo`."""
    keys = _attr(obj, "historyKeys") or {}
    last = keys.get("lastStep") if isinstance(keys, dict) else None
    return CloudRunInfo(
        entity=entity,
        project=project,
        id=str(obj.id),
        name=str(obj.name or obj.id),
        state=str(obj.state or ""),
        created_at=parse_time(_attr(obj, "createdAt")),
        heartbeat_at=parse_time(_attr(obj, "heartbeatAt")),
        url=str(obj.url),
        config=dict(obj.config or {}),
        summary=dict(obj.summary_metrics or {}),
        tags=tuple(str(t) for t in (_attr(obj, "tags") or ())),
        group=_attr(obj, "group") or None,
        notes=_attr(obj, "notes") or None,
        history_lines=int(_attr(obj, "historyLineCount") or 0),
        history_keys=dict(keys.get("keys") or {}) if isinstance(keys, dict) else {},
        last_step=int(last) if isinstance(last, (int, float)) and not isinstance(last, bool) else None,
    )


def _attr(obj: Any, name: str) -> Any:
    """A field of the server's answer (``heartbeatAt``) through the wandb object's public
    snake-case attribute (``heartbeat_at``); None when the answer did not carry it."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return getattr(obj, snake, None)


def _expand(keys: Sequence[str], info: CloudRunInfo) -> list[str]:
    """Requested names (exact or globs) as the run's scalar keys; unknown names are left to
    the views, which name the closest keys."""
    numeric = info.numeric_counts()
    out: list[str] = []
    for name in keys:
        name = name.strip()
        if name in numeric:
            matched = [name]
        elif any(ch in name for ch in "*?["):
            matched = sorted(k for k in numeric if fnmatch.fnmatchcase(k, name))
        else:
            matched = []
        out.extend(k for k in matched if k not in out)
    return out


def _keyed(wanted: list[str], counts: dict[str, int], metrics: dict[str, Series],
           samples: int) -> tuple[list[str], list[str]]:
    """Which keys to fetch on their own: those asked for, then the ones the row sample left
    thin (fewer points than they have, and fewer than a tenth of ``samples``), thinnest
    first; at most :data:`MAX_KEYED_REQUESTS`. Returns (chosen, thin keys left out)."""
    thin = []
    for key, count in counts.items():
        have = len(metrics[key]) if key in metrics else 0
        if have < count and have < min(count, max(samples // 10, 1)):
            thin.append((have / max(count, 1), key))
    thin_keys = [k for _, k in sorted(thin)]
    chosen = list(wanted[:MAX_KEYED_REQUESTS])
    for key in thin_keys:
        if len(chosen) >= MAX_KEYED_REQUESTS:
            break
        if key not in chosen:
            chosen.append(key)
    left = [k for k in thin_keys if k not in chosen]
    return chosen, left
