"""Finding runs on disk and picking one: the catalog every front end starts from.

One walk of the tree asks every registered source which runs lie in each folder; refs of
one source that share an id (a resumed W&B run's folders) become one ref. Selection accepts a
W&B id, a unique prefix of one, a display name, or ``latest``, and fails with the closest
candidates. Loaded runs are memoised per process, keyed by the files' sizes, times and
inodes, so a long-lived MCP server rereads a run only when its files change; across
processes, readers keep decoded logs in an on-disk cache (:mod:`.cache`), so a new process
loads a big run it has read before in a fraction of the time, and the catalog gives each
loaded run a slot of the fact store beside it (:mod:`.fact_store`), so the analysis of
unchanged files is not done again either.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import cache as _cache
from .analysis.stored import attach
from .errors import RunNotFound, RunwiseError
from .fact_store import FactStore
from .model import Run, RunState
from .selection import match_run, no_such_run
from .sources.base import RunRef
from .sources.registry import all_sources, source_named

#: Folders never searched: environments, caches, VCS data.
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", ".git", ".hg", ".svn", ".venv", "venv",
                       ".tox", ".mypy_cache", ".pytest_cache", ".ipynb_checkpoints", "checkpoints"})
MAX_DEPTH = 8
#: Loaded runs kept in memory by one catalog (a long-lived MCP server): at most this many
#: runs, and at most this many points over all of them; the least recently used go first.
MEMO_RUNS = 32
MEMO_POINTS = 20_000_000

Fingerprint = tuple[tuple[str, int, int, int, int], ...]


@dataclass
class Catalog:
    """The runs below some folders.

    ``dirs`` may each be a folder holding ``wandb/``, the ``wandb/`` folder, one run folder,
    or any folder with other logs below it. The walk happens once, on first use; call
    :meth:`refresh` to see runs created since.
    """

    dirs: Sequence[Path]
    notes: list[str] = field(default_factory=list)
    _refs: list[RunRef] | None = field(default=None, repr=False)
    _memo: OrderedDict[RunRef, tuple[Fingerprint, Run]] = field(default_factory=OrderedDict, repr=False)
    loader: Callable[[RunRef], Run] | None = field(default=None, repr=False)
    #: The on-disk cache of decoded logs; None reads every log afresh. By default the
    #: environment's (``RUNWISE_CACHE_DIR`` ...), or None when ``RUNWISE_NO_CACHE=1``.
    cache: _cache.RunCache | None = field(default_factory=lambda: default_cache(), repr=False)
    #: Whether analysis answers about the runs loaded are kept in a fact store beside
    #: ``cache`` (never without one). Off for a ``loader`` that does not read the files the
    #: fingerprint names (a test's fake), whose answers must not outlive the process.
    store_facts: bool = field(default=True, repr=False)
    _facts: FactStore | None = field(default=None, repr=False)

    # -- discovery -----------------------------------------------------------------------
    def refs(self) -> list[RunRef]:
        """Every run found, newest first."""
        if self._refs is None:
            self._refs = discover(self.dirs, self.notes)
        return self._refs

    def refresh(self) -> None:
        self._refs = None
        self.notes.clear()

    # -- loading -------------------------------------------------------------------------
    def load(self, ref: RunRef) -> Run:
        """The run behind ``ref``, read again only when its files changed."""
        print_ = fingerprint(ref)
        hit = self._memo.get(ref)
        if hit is not None and hit[0] == print_:
            self._memo.move_to_end(ref)
            return hit[1]
        with _cache.using(self.cache):
            run = (self.loader or _load)(ref)
        self._attach_slot(ref, print_, run)
        self._memo[ref] = (print_, run)
        self._evict()
        return run

    def _attach_slot(self, ref: RunRef, print_: Fingerprint, run: Run) -> None:
        """Analysis answers about ``run`` are kept beside the cache (see :func:`store_answers`)."""
        if self.cache is None or not self.store_facts:
            return
        if self._facts is None:
            self._facts = FactStore(self.cache.root)
        store_answers(self._facts, ref, print_, run)

    def _evict(self) -> None:
        points = sum(_points(run) for _, run in self._memo.values())
        while len(self._memo) > 1 and (len(self._memo) > MEMO_RUNS or points > MEMO_POINTS):
            _, (_, run) = self._memo.popitem(last=False)
            points -= _points(run)

    def runs(self, limit: int | None = None) -> list[Run]:
        """Loaded runs, newest first; raises on the first run that cannot be read."""
        refs = self.refs() if limit is None else self.refs()[:limit]
        return [self.load(ref) for ref in refs]

    def load_readable(self, refs: Sequence[RunRef]) -> tuple[list[Run], list[str]]:
        """Load ``refs``, skipping the ones that cannot be read: one bad run must not hide
        the others. Returns the runs and one line per skipped run (its id and why)."""
        runs: list[Run] = []
        skipped: list[str] = []
        for ref in refs:
            try:
                runs.append(self.load(ref))
            except RunwiseError as err:
                skipped.append(f"{ref.id}: {err}")
        return runs, skipped

    def latest_running(self, now: float | None = None) -> Run | None:
        """The newest run whose state is running, if any."""
        for ref in self.refs():
            run = self.load(ref)
            if run.state(now) is RunState.RUNNING:
                return run
        return None

    # -- selection -----------------------------------------------------------------------
    def select(self, selector: str) -> RunRef:
        """The one run ``selector`` names: ``latest``, an id, a unique id prefix, or a name."""
        refs = self.refs()
        if not refs:
            raise RunNotFound(f"no runs found under {', '.join(str(d) for d in self.dirs)}; "
                              "pass --dir PATH (a folder holding wandb/ or other training logs)")
        selector = selector.strip()
        if selector in ("latest", ""):
            return refs[0]
        found = match_run(refs, selector, self._name)
        if found is None:
            raise no_such_run(selector, refs, self._name)
        return found

    def _name(self, ref: RunRef) -> str:
        if ref.name_hint is not None:
            return ref.name_hint
        try:
            return self.load(ref).name
        except RunwiseError:  # an unreadable run has no name to match; its id still works
            return ref.id


def discover(dirs: Iterable[Path], notes: list[str] | None = None) -> list[RunRef]:
    """Walk ``dirs`` once and return every run, merged by (source, id), newest first."""
    notes = notes if notes is not None else []
    sources = all_sources()
    found: list[RunRef] = []
    for root in dirs:
        root = Path(root)
        if not root.exists():
            notes.append(f"{root}: no such folder")
            continue
        if root.is_file():
            for source in sources:
                found.extend(source.scan(root.parent, [root.name], []))
            continue
        # The root may itself be one run folder: offer it as its parent's only subfolder.
        claimed: list[RunRef] = []
        if root.parent != root:
            for source in sources:
                claimed.extend(source.scan(root.parent, [], [root.name]))
        if claimed:
            found.extend(claimed)
            continue
        found.extend(_walk(root, sources, notes))
    return _merge(found)


def _walk(root: Path, sources: Sequence, notes: list[str]) -> list[RunRef]:
    found: list[RunRef] = []
    base_depth = len(root.parts)
    real_root = os.path.realpath(root)

    def onerror(err: OSError) -> None:
        notes.append(f"{err.filename}: not readable ({err.strerror}); skipped")

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        folder = Path(dirpath)
        # Symlinked folders are not entered: wandb/latest-run points at a run found anyway,
        # and a link may point outside the tree or into a loop.
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and not os.path.islink(os.path.join(dirpath, d)))
        # A symlinked file is read only if it resolves inside the tree being walked: the MCP
        # server's roots must not be escaped by a link a log folder happens to hold.
        filenames[:] = sorted(f for f in filenames if not os.path.islink(os.path.join(dirpath, f))
                              or _inside(os.path.realpath(os.path.join(dirpath, f)), real_root))
        for source in sources:
            found.extend(source.scan(folder, filenames, dirnames))
        if len(folder.parts) - base_depth >= MAX_DEPTH:
            dirnames[:] = []
    return found


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _merge(refs: list[RunRef]) -> list[RunRef]:
    groups: dict[tuple[str, str], list[RunRef]] = {}
    for ref in refs:
        groups.setdefault((ref.source, ref.id), []).append(ref)
    merged: list[RunRef] = []
    for (source, run_id), group in groups.items():
        if len(group) == 1:
            merged.append(group[0])
            continue
        group.sort(key=lambda r: (r.sort_time, str(r.paths[0])))
        paths = tuple(p for r in group for p in r.paths)
        merged.append(RunRef(source, run_id, paths, group[-1].sort_time, group[-1].name_hint))
    merged.sort(key=lambda r: (-r.sort_time, r.id))
    return merged


def default_cache() -> _cache.RunCache | None:
    """The cache a catalog uses unless told otherwise: none when ``RUNWISE_NO_CACHE`` is set."""
    return None if _cache.disabled_by_env() else _cache.RunCache()


def _points(run: Run) -> int:
    return sum(len(series) for series in run.metrics.values())


def store_answers(store: FactStore, ref: RunRef, print_: Fingerprint, run: Run) -> None:
    """Let analysis keep its answers about ``run`` (read from ``ref``'s files, whose
    fingerprint is ``print_``, taken before the read) in ``store``: keyed by that
    fingerprint and the shape of what was read (see :mod:`.fact_store`)."""
    if not print_:
        return
    paths = [os.path.abspath(p) for p in ref.paths]
    files = [[os.path.abspath(entry), *facts] for entry, *facts in print_]
    slot = store.slot([ref.source, ref.id, *paths], [files, _shape(run)], paths)
    if slot is not None:
        attach(run, slot)


def _shape(run: Run) -> list[list]:
    """What was read, in brief: each series' key, length and last step, and the length of
    the log's clock. A second guard beside the fingerprint: data that grew cannot be taken
    for the data it grew from."""
    shape: list[list] = [[key, len(s), s.last_step] for key, s in run.metrics.items()]
    shape.append(["", len(run.timestamps) if run.timestamps is not None else -1, None])
    return shape


def _load(ref: RunRef) -> Run:
    return source_named(ref.source).load(ref)


def fingerprint(ref: RunRef) -> Fingerprint:
    """Size, mtime, ctime and inode of each of a run's files (folders: their files and
    ``files/``), cheap to take. The ctime moves on every write, even one that restores the
    mtime; the inode changes when a file is replaced by another."""
    out: list[tuple[str, int, int, int, int]] = []
    for path in ref.paths:
        for entry in _entries(path):
            try:
                st = os.stat(entry)
            except OSError:
                continue
            out.append((entry, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(out)


def _entries(path: Path) -> list[str]:
    if not path.is_dir():
        return [str(path)]
    out: list[str] = []
    for folder in (path, path / "files"):
        try:
            with os.scandir(folder) as it:
                out.extend(e.path for e in it if e.is_file(follow_symlinks=False))
        except OSError:
            continue
    return sorted(out)
