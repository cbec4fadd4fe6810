"""The ``runwise`` command: parse, call the catalog and one view, render, print.

Thin on purpose: every fact comes from :mod:`runwise_core.views` and every character of
output from :mod:`runwise_core.render`, so the MCP server says exactly the same things.
Errors a user can cause (:class:`~runwise_core.errors.RunwiseError`) print one message on
stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from runwise_core import views
from runwise_core.arguments import parse_range, parse_run_at, split_keys
from runwise_core.cache import NO_CACHE_ENV
from runwise_core.catalog import Catalog
from runwise_core.cloud_names import PROJECT_ENV, parse_cloud_selector
from runwise_core.errors import RunwiseError, UsageError
from runwise_core.model import Run, RunState
from runwise_core.render import FORMATS, render
from runwise_core.render.text import visible
from runwise_core.settings import Settings, load_settings
from runwise_core.sources.base import RunRef

if TYPE_CHECKING:  # imported when a command reads W&B's server: local commands never pay for it
    from runwise_core.cloud_catalog import CloudCatalog

    AnyCatalog = Catalog | CloudCatalog

PROG = "runwise"

EXAMPLES: dict[str, str] = {
    "list": "runwise list\n  runwise list -n 5 --state running\n  runwise list --format json\n"
            "  runwise list --wandb my-team/my-project",
    "latest": "runwise latest\n  runwise latest -k loss,val_loss\n  runwise latest --no-anomalies --format md",
    "run": "runwise run 3xk9q2ab\n  runwise run my-run-name -k 'train/*'",
    "keys": "runwise keys\n  runwise keys 3xk9q2ab\n  runwise keys 3xk9q2ab -f val",
    "live": "runwise live\n  runwise live --format json",
    "history": "runwise history -k loss,val_loss\n  runwise history 3xk9q2ab -k loss --samples 100\n"
               "  runwise history -k loss --steps 40000:60000",
    "stats": "runwise stats -k loss,val_loss\n  runwise stats 3xk9q2ab --steps 0:10000\n"
             "  runwise stats 3xk9q2ab -k loss --exact --wandb my-team/my-project",
    "anomalies": "runwise anomalies\n  runwise anomalies 3xk9q2ab -k 'train/*'\n  runwise anomalies --format json",
    "stability": "runwise stability -k loss,val_loss\n  runwise stability 3xk9q2ab --window 50",
    "compare": "runwise compare A B\n  runwise compare A B -f val -t 5\n  runwise compare A B -g -d\n"
               "  runwise compare A@50000 B@50000\n  runwise compare my-team/my-project/3xk9q2ab localid --dir PATH",
    "config": "runwise config\n  runwise config 3xk9q2ab -f lr",
    "best": "runwise best val_loss\n  runwise best val/acc --max -n 3",
    "find": "runwise find baseline\n  runwise find lr-sweep -n 5",
    "local": "runwise local\n  runwise local logs/metrics.jsonl --keys\n"
             "  runwise local logs/metrics.jsonl --history -k loss,val_loss\n"
             "  runwise local logs/metrics.jsonl --stats -k loss",
}


class Parser(argparse.ArgumentParser):
    """argparse that exits 1 (runwise's one error code) and names the help to read."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _common(suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after the command name."""
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--dir", default=d(None), metavar="PATH",
                   help="folder holding wandb/ or training logs (env RUNWISE_DIR; default: current folder)")
    p.add_argument("--wandb", default=d(None), metavar="ENTITY/PROJECT",
                   help=f"read the runs of this W&B project from the W&B server (env {PROJECT_ENV}; "
                        "WANDB_BASE_URL for a self-hosted server)")
    p.add_argument("--format", choices=FORMATS, default=d("text"), help="output format (default: text)")
    p.add_argument("--max-tokens", type=int, default=d(None), metavar="N",
                   help="never print more than about N tokens; trims and says what it left out")
    p.add_argument("--no-cache", action="store_true", default=d(False),
                   help="read every log afresh; neither use nor write runwise's cache "
                        "(env RUNWISE_NO_CACHE=1; the cache folder: RUNWISE_CACHE_DIR, else ~/.cache/runwise)")
    return p


def _keys_arg(p: argparse.ArgumentParser, help_: str = "comma-separated metric keys (exact, or globs like 'train/*')") -> None:
    p.add_argument("-k", "--keys", default=None, metavar="KEYS", help=help_)


def _exact_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exact", action="store_true",
                   help="W&B cloud runs: read every history row, not the server's sample (slower)")


def _steps_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", default=None, metavar="FROM:TO", help="only steps in this range (either end may be empty)")


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG, parents=[_common(False)], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="How is training going? Token-efficient views of ML training runs (W&B, local logs).",
        epilog="Zoom in: list -> latest/run -> keys -> history/stats -> compare.\n"
               "Examples:\n  runwise list\n  runwise latest\n  runwise keys\n  runwise history -k loss\n"
               "  runwise compare A B -t 5",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = _common(True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_.replace("%", "%%"), description=help_, parents=[common],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="examples:\n  " + EXAMPLES[name])

    p = add("list", "one line per run, newest first: id, name, state, step, main metric, trend")
    p.add_argument("-n", "--limit", type=int, default=10, help="show at most N runs (default 10)")
    p.add_argument("--state", choices=[s.value for s in RunState], default=None, help="only runs in this state")

    for name, help_ in (("latest", "summarize the newest run: status, anomalies, key metrics"),
                        ("run", "summarize one run: status, anomalies, key metrics")):
        p = add(name, help_)
        if name == "run":
            p.add_argument("run", metavar="ID", help="run id, unique id prefix, display name, or 'latest'")
        _keys_arg(p)
        p.add_argument("--no-anomalies", action="store_true", help="skip anomaly detection")
        _exact_arg(p)

    p = add("anomalies", "anomalies only, over every key (or -k KEYS); says 'none found' when healthy")
    p.add_argument("run", nargs="?", default="latest", metavar="ID", help="run (default: latest)")
    _keys_arg(p)
    _exact_arg(p)

    p = add("keys", "every metric key with its point count and step range (call before history)")
    p.add_argument("run", nargs="?", default="latest", metavar="ID", help="run (default: latest)")
    p.add_argument("-f", "--filter", default=None, metavar="TEXT", help="only keys containing TEXT")
    _exact_arg(p)

    add("live", "the newest running run: step, steps/s, ETA, latest values, console tail")

    p = add("history", "metric history as CSV; downsampling keeps every spike and NaN")
    p.add_argument("run", nargs="?", default="latest", metavar="ID", help="run (default: latest)")
    _keys_arg(p)
    p.add_argument("--samples", type=int, default=views.DEFAULT_SAMPLES, metavar="N",
                   help=f"values per key (default {views.DEFAULT_SAMPLES}, at most {views.MAX_SAMPLES})")
    _steps_arg(p)
    _exact_arg(p)

    p = add("stats", "exact statistics per key: count, min/max with steps, mean, final, NaN/Inf")
    p.add_argument("run", nargs="?", default="latest", metavar="ID", help="run (default: latest)")
    _keys_arg(p)
    _steps_arg(p)
    _exact_arg(p)

    p = add("stability", "rolling std, robust slope per 1k steps, stable/moderate/noisy")
    p.add_argument("run", nargs="?", default="latest", metavar="ID", help="run (default: latest)")
    _keys_arg(p)
    p.add_argument("--window", type=int, default=None, metavar="N", help="rolling window in points (default ~5%%)")
    _steps_arg(p)
    _exact_arg(p)

    p = add("compare", "two runs side by side: values, delta, % change; A@STEP compares at a step")
    p.add_argument("a", metavar="A[@STEP]", help="first run, optionally at a step (50000, 50k)")
    p.add_argument("b", metavar="B[@STEP]", help="second run, optionally at a step")
    _keys_arg(p)
    p.add_argument("-f", "--filter", default=None, metavar="TEXT", help="only keys containing TEXT (e.g. val)")
    p.add_argument("-t", "--threshold", type=float, default=None, metavar="PCT",
                   help="only metrics whose change is at least PCT percent")
    p.add_argument("-g", "--group", action="store_true", help="group metrics by prefix (train/, val/)")
    p.add_argument("-d", "--config-diff", action="store_true", help="also show config differences")

    p = add("config", "a run's config (hyperparameters), flattened")
    p.add_argument("run", nargs="?", default="latest", metavar="ID", help="run (default: latest)")
    p.add_argument("-f", "--filter", default=None, metavar="TEXT", help="only keys containing TEXT")

    p = add("best", "rank runs by the best value each reached for a metric")
    p.add_argument("metric", metavar="METRIC", help="metric key, e.g. val_loss")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--max", dest="higher", action="store_const", const=True, default=None,
                     help="higher is better (default: from the key: loss lower, accuracy higher)")
    way.add_argument("--min", dest="higher", action="store_const", const=False, help="lower is better")
    p.add_argument("-n", "--limit", type=int, default=10, help="show at most N runs (default 10)")

    p = add("find", "runs whose id, name, tag, group or notes contain TEXT")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("-n", "--limit", type=int, default=10, help="show at most N runs (default 10)")

    p = add("local", "local metric logs (JSONL/CSV): list them, or read one FILE")
    p.add_argument("file", nargs="?", default=None, metavar="FILE",
                   help="a metric log; FILE#N picks the N-th of several appended runs")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--keys", dest="what", action="store_const", const="keys", help="list its keys")
    what.add_argument("--history", dest="what", action="store_const", const="history", help="its history")
    what.add_argument("--stats", dest="what", action="store_const", const="stats", help="its statistics")
    what.add_argument("--stability", dest="what", action="store_const", const="stability", help="its stability")
    p.add_argument("-k", dest="keys", default=None, metavar="KEYS", help="comma-separated metric keys")
    p.add_argument("--samples", type=int, default=views.DEFAULT_SAMPLES, metavar="N", help="history values per key")
    _steps_arg(p)
    p.add_argument("--no-anomalies", action="store_true", help="skip anomaly detection")
    return parser


# -- progress ------------------------------------------------------------------------------------

class Progress:
    """Says "reading runs…" on stderr when a read takes over a second and stderr is a terminal;
    silent otherwise, so pipes and agents see clean output."""

    def __init__(self, delay_s: float = 1.0) -> None:
        self._shown = False
        self._timer: threading.Timer | None = None
        if sys.stderr.isatty():
            self._timer = threading.Timer(delay_s, self._show)
            self._timer.daemon = True

    def _show(self) -> None:
        self._shown = True
        sys.stderr.write("runwise: reading runs…\r")
        sys.stderr.flush()

    def step(self, done: float, total: float | None, message: str) -> None:
        """A step of a long read (a full W&B history scan: ``done`` of ``total`` rows), shown
        on a terminal only."""
        if self._timer is None:
            return
        self._shown = True
        of = f"{done:,.0f} of {total:,.0f}" if total else f"{done:,.0f}"
        sys.stderr.write(f"\r\033[Krunwise: {message}: {of} rows")
        sys.stderr.flush()

    def __enter__(self) -> "Progress":
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# -- commands -----------------------------------------------------------------------------------

#: ``best`` and ``find`` on a W&B project read at most its newest N runs (each costs requests).
CLOUD_SCAN_RUNS = 50


def wandb_project(args: argparse.Namespace) -> str | None:
    """The W&B project a command reads: ``--wandb``, else (unless ``--dir`` names a folder)
    ``RUNWISE_WANDB_PROJECT``; None for local runs. A flag beats the environment."""
    if args.wandb:
        return str(args.wandb)
    if args.dir:
        return None
    return os.environ.get(PROJECT_ENV) or None


def _catalog(args: argparse.Namespace) -> Catalog:
    root = args.dir or os.environ.get("RUNWISE_DIR") or "."
    path = Path(root).expanduser()
    if not path.exists():
        raise UsageError(f"--dir {root}: no such folder")
    return Catalog([path])


class Catalogs:
    """What one command reads: its main catalog (a W&B project with ``--wandb``, else the
    local folder), and the W&B projects a run selector names (``ENTITY/PROJECT/ID`` or a run
    URL), so ``compare`` takes a cloud run and a local one."""

    def __init__(self, args: argparse.Namespace, progress: Callable[[float, float | None, str], None]) -> None:
        self.exact = bool(getattr(args, "exact", False))
        self._progress = progress
        self._cloud: dict[str, "CloudCatalog"] = {}
        project = wandb_project(args)
        self.main: AnyCatalog = self.cloud(project) if project else _catalog(args)

    def cloud(self, project: str) -> "CloudCatalog":
        """One catalog per W&B project named in this command."""
        from runwise_core.cloud_catalog import CloudCatalog

        if project not in self._cloud:
            self._cloud[project] = CloudCatalog(project, progress=self._progress)
        return self._cloud[project]

    def run(self, selector: str, keys: Sequence[str] | None = None) -> Run:
        """The run ``selector`` names: a W&B run by ``ENTITY/PROJECT/ID`` (or URL) in its
        project, anything else in the main catalog. ``keys`` of a W&B run are fetched at full
        sample resolution; ``--exact`` reads every row."""
        cat = self.main
        cloud = parse_cloud_selector(selector)
        if cloud is not None and (isinstance(cat, Catalog) or cat.project != cloud[0]):
            cat = self.cloud(cloud[0])
        ref = cat.select(selector)
        if isinstance(cat, Catalog):
            return cat.load(ref)
        return cat.load(ref, keys=keys, exact=self.exact)

    def scanned(self) -> list[RunRef]:
        """The runs ``best`` and ``find`` read: all local ones, a W&B project's newest 50."""
        refs = self.main.refs()
        return refs if isinstance(self.main, Catalog) else refs[:CLOUD_SCAN_RUNS]


def _load_all(cat: AnyCatalog, refs: Sequence[RunRef]) -> tuple[list[Run], tuple[str, ...]]:
    """Load ``refs``; a run that cannot be read is reported, not allowed to hide the others."""
    runs, skipped = cat.load_readable(refs)
    return runs, tuple(skipped)


def _listed(cat: AnyCatalog, limit: int, state: RunState | None) -> list[RunRef]:
    """The refs ``list`` loads: the newest ``limit``; with a state, a W&B project's runs the
    server lists in it (its list carries state and heartbeat), every local run otherwise."""
    if state is None:
        return cat.refs()[:limit]
    if isinstance(cat, Catalog):
        return cat.refs()
    return [ref for ref in cat.refs() if cat.listed_state(ref) is state]


def _local_run(file: str) -> Run:
    from runwise_core import cache
    from runwise_core.catalog import default_cache, fingerprint, store_answers
    from runwise_core.fact_store import FactStore
    from runwise_core.sources.metric_log import load_file

    path, part = Path(file), None
    if not path.exists() and "#" in file:
        base, _, n = file.rpartition("#")
        if n.isdigit():
            path, part = Path(base), int(n)
    disk = default_cache()
    print_ = fingerprint(RunRef("metric-log", "", (path,), 0.0))
    with cache.using(disk):
        runs = load_file(path)
    if disk is not None:  # the analysis of an unchanged log is read back, as for a catalog's runs
        store = FactStore(disk.root)
        for run in runs:
            store_answers(store, RunRef("metric-log", run.id, (path,), 0.0), print_, run)
    if part is None:
        return runs[-1]
    if not 1 <= part <= len(runs):
        raise UsageError(f"{path} holds {len(runs)} run(s); use {path}#1 to {path}#{len(runs)}")
    return runs[part - 1]


def no_progress(done: float, total: float | None, message: str) -> None:
    """The progress sink of a caller that shows none."""


def compute(args: argparse.Namespace, settings: Settings,
            progress: Callable[[float, float | None, str], None] = no_progress) -> Any:
    """The one view result the command asks for (``progress`` hears of long W&B scans)."""
    cmd = args.command
    keys = split_keys(getattr(args, "keys", None))
    if cmd == "local":
        if args.file is None:
            folder = _catalog(args)
            runs, skipped = _load_all(folder, [r for r in folder.refs() if r.source == "metric-log"])
            return replace(views.list_view(runs, settings=settings), skipped=skipped)
        run = _local_run(args.file)
        what = args.what
        if what == "keys":
            return views.keys_view(run)
        if what == "history":
            return views.history_view(run, keys, args.samples, parse_range(args.steps), settings)
        if what == "stats":
            return views.stats_view(run, keys, parse_range(args.steps), settings)
        if what == "stability":
            return views.stability_view(run, keys, None, parse_range(args.steps), settings)
        return views.run_view(run, keys, anomalies=not args.no_anomalies, settings=settings)
    cats = Catalogs(args, progress)
    cat = cats.main
    if cmd == "list":
        state = RunState(args.state) if args.state else None
        runs, skipped = _load_all(cat, _listed(cat, args.limit, state))
        result = views.list_view(runs, args.limit, state, settings=settings)
        total = len(cat.refs()) if state is None else result.total
        return replace(result, total=max(total, result.total), skipped=skipped)
    if cmd in ("latest", "run"):
        run = cats.run("latest" if cmd == "latest" else args.run, keys)
        return views.run_view(run, keys, anomalies=not args.no_anomalies, settings=settings)
    if cmd == "anomalies":
        return views.anomalies_view(cats.run(args.run, keys), keys, settings=settings)
    if cmd == "keys":
        return views.keys_view(cats.run(args.run), args.filter)
    if cmd == "live":
        running = cat.latest_running()
        return views.live_view(running if running is not None else cats.run("latest"), settings=settings)
    if cmd == "history":
        return views.history_view(cats.run(args.run, keys), keys, args.samples, parse_range(args.steps), settings)
    if cmd == "stats":
        return views.stats_view(cats.run(args.run, keys), keys, parse_range(args.steps), settings)
    if cmd == "stability":
        return views.stability_view(cats.run(args.run, keys), keys, args.window, parse_range(args.steps), settings)
    if cmd == "compare":
        sel_a, step_a = parse_run_at(args.a)
        sel_b, step_b = parse_run_at(args.b)
        return views.compare_view(cats.run(sel_a, keys), cats.run(sel_b, keys), step_a, step_b, keys, args.filter,
                                  args.threshold, args.group, args.config_diff, settings=settings)
    if cmd == "config":
        return views.config_view(cats.run(args.run), args.filter)
    if cmd == "best":
        return views.best_view(_load_all(cat, cats.scanned())[0], args.metric, args.higher, args.limit)
    if cmd == "find":
        runs, skipped = _load_all(cat, cats.scanned())
        return replace(views.find_view(runs, args.text, args.limit, settings=settings), skipped=skipped)
    raise UsageError(f"unknown command {cmd!r}")  # pragma: no cover - argparse rejects it first


@contextmanager
def _cache_switch(off: bool) -> Iterator[None]:
    """``--no-cache``: the caches (decoded logs, analysis answers, W&B histories) all follow
    ``RUNWISE_NO_CACHE``; set for this command only, so an in-process caller's environment
    is as it was afterwards."""
    if not off:
        yield
        return
    before = os.environ.get(NO_CACHE_ENV)
    os.environ[NO_CACHE_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(NO_CACHE_ENV, None)
        else:
            os.environ[NO_CACHE_ENV] = before


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 success, 1 any error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (1, message already on stderr)
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help()
        return 1
    try:
        if args.max_tokens is not None and args.max_tokens < 1:
            raise UsageError(f"--max-tokens must be positive (got {args.max_tokens})")
        for name in ("limit",):
            if getattr(args, name, None) is not None and getattr(args, name) < 1:
                raise UsageError(f"-n must be at least 1 (got {getattr(args, name)})")
        settings = load_settings(args.dir or os.environ.get("RUNWISE_DIR") or ".")
        with Progress() as progress, _cache_switch(args.no_cache):
            result = compute(args, settings, progress.step)
        text = render(result, args.format, args.max_tokens)
    except RunwiseError as err:
        sys.stderr.write(f"{PROG}: {visible(str(err))}\n")  # (a key from a log may hold escapes)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    try:
        if hasattr(sys.stdout, "reconfigure"):  # a key with lone surrogates, a terminal that is not UTF-8
            sys.stdout.reconfigure(errors="replace")
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `runwise history | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
