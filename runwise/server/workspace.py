"""What the server reads: its roots, one long-lived catalog over them, and the calls that
pick runs and hand them to one view.

Everything here is synchronous and runs in a worker thread (see :mod:`.runner`), under
:attr:`Workspace.lock`: the catalog memoises loaded runs and is not safe to use from two
threads at once. The choices mirror the CLI's ``compute`` so both front ends say the same
thing for the same question.

One catalog spans all roots rather than one per root, so ``latest``, newest-first ordering,
selection by id prefix and the merge of a resumed run's folders work across roots exactly as
the core implements them, with nothing re-implemented here.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runwise_core import views
from runwise_core.catalog import Catalog
from runwise_core.cloud_catalog import PROJECT_ENV, CloudCatalog, parse_cloud_selector, parse_project
from runwise_core.errors import PathNotAllowed, RunNotFound, UnreadableLog, UsageError
from runwise_core.model import Run, RunState
from runwise_core.roots import Roots
from runwise_core.settings import Settings, load_settings
from runwise_core.sources.base import RunRef
from runwise_core.sources.metric_log import load_file
from runwise_core.sources.registry import source_named

#: progress(done, total, message): called from the worker thread.
Progress = Callable[[float, float | None, str], None]

#: Local log files kept parsed between calls (keyed by path, checked by size and mtime).
LOCAL_FILES_KEPT = 8
#: find_best_run and list_runs with a query read at most a W&B project's newest N runs.
CLOUD_SCAN_RUNS = 50

AnyCatalog = Catalog | CloudCatalog


def no_progress(done: float, total: float | None, message: str) -> None:
    """The progress sink for callers that do not want progress."""


@dataclasses.dataclass
class Listed:
    """A view result plus what the server had to leave out to produce it (unreadable runs)."""

    result: Any
    skipped: list[str] = dataclasses.field(default_factory=list)


class Workspace:
    """The roots, the catalog and the settings one server process serves from."""

    def __init__(self, roots: Roots, settings: Settings | None = None,
                 loader: Callable[[RunRef], Run] | None = None, wandb_project: str | None = None,
                 cloud_default: bool = True) -> None:
        self.roots = roots
        self._loader = loader
        # a test's loader (a fake) reads no files: its answers must not be kept on disk
        self.catalog = Catalog(list(roots.paths), loader=self._load_confined, store_facts=loader is None)
        self.settings = settings if settings is not None else load_settings(roots.paths[0])
        self.lock = threading.Lock()
        self._files: OrderedDict[str, tuple[tuple[int, int], list[Run]]] = OrderedDict()
        #: The W&B project the run tools may read (``--wandb``); None: local runs only, no network.
        self.wandb_project = wandb_project
        #: Whether runs named plainly (``latest``, an id) and list_runs are the project's rather
        #: than the roots' (``--root`` with only the environment's project: the roots').
        self.cloud_default = cloud_default
        if wandb_project is not None:
            parse_project(wandb_project)  # a malformed name fails the start, not the first call
        self._clouds: dict[str, CloudCatalog] = {}

    # -- W&B projects -------------------------------------------------------------------------
    def cloud(self, project: str) -> CloudCatalog:
        """The long-lived catalog of a W&B project (one per project: its runs' histories stay
        cached between calls). Only a server started with a W&B project reaches W&B at all."""
        if self.wandb_project is None:
            raise UsageError(f"W&B project {project}: this server reads local runs only; start it with "
                             f"--wandb ENTITY/PROJECT (or set {PROJECT_ENV}) to read W&B runs")
        if project not in self._clouds:
            self._clouds[project] = CloudCatalog(project)
        return self._clouds[project]

    def main_catalog(self, wandb_project: str | None = None) -> AnyCatalog:
        """``wandb_project``'s catalog if given, else the server's W&B project (unless the
        roots are the default), else the roots'."""
        project = wandb_project or (self.wandb_project if self.cloud_default else None)
        return self.cloud(project) if project else self.catalog

    def _load_confined(self, ref: RunRef) -> Run:
        """Load ``ref`` only if every path of it resolves under the roots. Discovery does not
        enter symlinked folders, but a run folder or log file may itself be a symlink that
        leads out; the server must not read through it."""
        for path in ref.paths:
            self.roots.confine(os.fspath(path))
        return (self._loader or _load_from_source)(ref)

    # -- picking runs ---------------------------------------------------------------------------
    def run(self, selector: str | None, progress: Progress = no_progress, *,
            keys: Sequence[str] | None = None, exact: bool = False) -> Run:
        """The run ``selector`` names (``ENTITY/PROJECT/ID`` or a run URL: in that W&B
        project). ``latest`` (or None) rescans first, so a run started since the last call
        counts; an unknown selector rescans once before failing. A W&B run's ``keys`` are
        fetched at full sample resolution; ``exact`` reads its every row."""
        sel = (selector or "latest").strip() or "latest"
        cloud = parse_cloud_selector(sel)
        cat = self.cloud(cloud[0]) if cloud is not None else self.main_catalog()
        progress(0, 2, "finding runs")
        if sel == "latest":
            cat.refresh()
        try:
            ref = cat.select(sel)
        except RunNotFound:
            cat.refresh()
            ref = cat.select(sel)
        progress(1, 2, f"reading run {ref.id}")
        if isinstance(cat, CloudCatalog):
            run = cat.load(ref, keys=keys, exact=exact, progress=progress)
        else:
            run = cat.load(ref)
        progress(2, 2, "analysing")
        return run

    def all_runs(self, progress: Progress = no_progress, limit: int | None = None,
                 wandb_project: str | None = None, state: RunState | None = None) -> tuple[list[Run], list[str], int]:
        """Runs newest first (the first ``limit`` of them), the runs skipped as unreadable or
        outside the roots (one line each: id and why), and how many runs exist. One bad run
        must not hide all the others, so it is skipped and named instead of failing the call.
        Rescans first, so runs started since the last call are listed. A W&B project's runs
        are loaded several at once (with ``state``: only those its run list places there)."""
        cat = self.main_catalog(wandb_project)
        if isinstance(cat, CloudCatalog):
            return self._cloud_runs(cat, progress, limit, state)
        self.catalog.refresh()
        refs = self.catalog.refs()
        chosen = refs if limit is None else refs[:limit]
        runs: list[Run] = []
        skipped: list[str] = []
        for i, ref in enumerate(chosen):
            progress(i, len(chosen), f"reading run {ref.id} ({i + 1}/{len(chosen)})")
            try:
                runs.append(self.catalog.load(ref))
            except UnreadableLog as err:
                skipped.append(f"{ref.id}: {err}")
            except PathNotAllowed:
                skipped.append(f"{ref.id}: {ref.paths[0].name} leads outside the roots")
        progress(len(chosen), len(chosen), "analysing")
        return runs, skipped, len(refs)

    def _cloud_runs(self, cat: CloudCatalog, progress: Progress, limit: int | None,
                    state: RunState | None) -> tuple[list[Run], list[str], int]:
        cat.refresh()
        progress(0, None, f"listing runs of W&B project {cat.project}")
        refs = cat.refs()
        if state is not None:
            refs = [ref for ref in refs if cat.listed_state(ref) is state]
        chosen = refs[: CLOUD_SCAN_RUNS if limit is None else limit]
        progress(1, None, f"reading {len(chosen)} run(s) of {cat.project}")
        runs, skipped = cat.load_readable(chosen)
        return runs, skipped, len(refs)

    def local_runs(self, path: str, progress: Progress = no_progress) -> list[Run]:
        """Every run in the metric log at ``path`` (confined to the roots), re-read only when
        the file's size or mtime changed."""
        real = self.roots.confine(path)
        progress(0, 2, f"reading {real.name}")
        try:
            st = os.stat(real)
        except OSError as err:
            raise UnreadableLog(f"{path}: {err.strerror or err} (resolved to {real}); "
                                f"give a JSONL or CSV metric log under {self.roots.describe()}") from err
        if not real.is_file():
            raise UnreadableLog(f"{path} is a folder, not a log file; runs in folders are found by "
                                "list_runs, or give one .jsonl/.csv file inside it")
        key, print_ = str(real), (st.st_size, st.st_mtime_ns)
        hit = self._files.get(key)
        if hit is not None and hit[0] == print_:
            self._files.move_to_end(key)
            runs = hit[1]
        else:
            runs = load_file(Path(real))
            self._files[key] = (print_, runs)
            self._files.move_to_end(key)
            while len(self._files) > LOCAL_FILES_KEPT:
                self._files.popitem(last=False)
        progress(1, 2, "analysing")
        return runs

    def local_run(self, path: str, part: int | None, progress: Progress = no_progress) -> Run:
        """One run of a local log: ``part`` (1-based) of several appended runs, else the last."""
        runs = self.local_runs(path, progress)
        if part is None:
            return runs[-1]
        if not 1 <= part <= len(runs):
            raise UsageError(f"{path} holds {len(runs)} run(s); use part 1 to {len(runs)}")
        return runs[part - 1]

    # -- the views --------------------------------------------------------------------------
    def list_runs(self, limit: int, state: str | None, query: str | None,
                  progress: Progress = no_progress, wandb_project: str | None = None) -> Listed:
        """Like ``runwise list`` (``runwise find`` with ``query``): only the first ``limit``
        runs are read unless a state or query needs every run."""
        wanted = RunState(state) if state else None
        if wanted is None and query is None:
            runs, skipped, total = self.all_runs(progress, limit, wandb_project)
            result = views.list_view(runs, limit, None, settings=self.settings)
            if total > result.total:
                result = views.RunList(result.rows, total)
            return Listed(result, skipped)
        runs, skipped, _ = self.all_runs(progress, wandb_project=wandb_project, state=wanted)
        if query is None:
            return Listed(views.list_view(runs, limit, wanted, settings=self.settings), skipped)
        if wanted is not None:
            runs = [r for r in runs if r.state() is wanted]
        return Listed(views.find_view(runs, query, limit, settings=self.settings), skipped)

    def best(self, metric: str, higher_is_better: bool | None, limit: int,
             progress: Progress = no_progress, wandb_project: str | None = None) -> Listed:
        runs, skipped, _ = self.all_runs(progress, wandb_project=wandb_project)
        return Listed(views.best_view(runs, metric, higher_is_better, limit), skipped)

    def live(self, selector: str | None, progress: Progress = no_progress) -> Any:
        """``runwise live``: the given run, else the newest running run, else the newest run."""
        if selector:
            return views.live_view(self.run(selector, progress), settings=self.settings)
        cat = self.main_catalog()
        cat.refresh()
        run = cat.latest_running()
        if run is None:
            run = self.run("latest", progress)
        return views.live_view(run, settings=self.settings)

    def anomalies(self, run: Run, keys: Sequence[str] | None) -> Any:
        """Anomalies of ``run`` over every key (or ``keys``), as ``runwise anomalies`` says them."""
        return views.anomalies_view(run, keys, settings=self.settings)


def _load_from_source(ref: RunRef) -> Run:
    return source_named(ref.source).load(ref)


def step_range(step_from: int | None, step_to: int | None) -> tuple[int | None, int | None] | None:
    """``(from, to)`` for the views, None when neither end is given; refuses from > to."""
    if step_from is None and step_to is None:
        return None
    if step_from is not None and step_to is not None and step_from > step_to:
        raise UsageError(f"step_from {step_from} is after step_to {step_to}; swap them")
    return (step_from, step_to)
