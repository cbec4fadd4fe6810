"""The runwise MCP server: the zoom levels as typed, read-only tools over stdio.

    python -m runwise.server [--root PATH]... [--wandb ENTITY/PROJECT] [--timeout S] [--log-level LEVEL]
    runwise-mcp ...                      (the same, as a console script)

Modules by job: :mod:`.tools` (the typed tools), :mod:`.runner` (worker thread, time
limit, errors to ``ToolError``), :mod:`.progress` (progress and heartbeats to the client),
:mod:`.workspace` (roots, catalog, picking runs), :mod:`.schema` (compact input schemas). Path confinement is in :mod:`runwise_core.roots`.

Only protocol goes to stdout: logging goes to stderr, and while serving the SDK points
fd 1 at stderr so a stray print cannot corrupt the stream.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
from collections.abc import Callable, Sequence

from mcp.server.mcpserver import MCPServer

from runwise_core.cloud_catalog import PROJECT_ENV
from runwise_core.errors import RunwiseError
from runwise_core.model import Run
from runwise_core.roots import ROOT_ENV, Roots
from runwise_core.sources.base import RunRef

from .runner import DEFAULT_TIMEOUT_S, Runner
from .tools import build_tools
from .workspace import Workspace

__all__ = ["create_server", "main", "server_for"]

INSTRUCTIONS = (
    "runwise reads ML training runs (W&B folders, JSONL/CSV logs) under this server's roots. "
    "Zoom in, cheapest first: list_runs, summarize_run, get_keys, get_history."
)


def create_server(roots: Roots, timeout_s: float = DEFAULT_TIMEOUT_S,
                  loader: Callable[[RunRef], Run] | None = None, wandb_project: str | None = None,
                  cloud_default: bool = True) -> MCPServer:
    """An MCP server reading only under ``roots``, and the W&B project ``wandb_project`` if
    given (its run tools then read that project by default, or with ``cloud_default`` False
    the roots' runs by default and the project's when named). ``loader`` replaces the
    catalog's run loader (tests use it to stand in a slow or failing reader)."""
    workspace = Workspace(roots, loader=loader, wandb_project=wandb_project, cloud_default=cloud_default)
    return server_for(Runner(workspace, timeout_s))


def server_for(runner: Runner) -> MCPServer:
    """The MCP server whose tools run on ``runner`` (tests keep the runner to adjust it)."""
    project = runner.workspace.wandb_project if runner.workspace.cloud_default else None
    instructions = INSTRUCTIONS if project is None else INSTRUCTIONS.replace(
        "runwise reads ML training runs (W&B folders, JSONL/CSV logs) under this server's roots",
        f"runwise reads the ML training runs of W&B project {project} (JSONL/CSV logs under this "
        "server's roots: analyze_local_log)")
    return MCPServer("runwise", instructions=instructions, version=_version(), tools=build_tools(runner))


def _version() -> str:
    try:
        return importlib.metadata.version("runwise")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="runwise-mcp", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="runwise MCP server over stdio: list runs, summaries, keys, history, stats, "
                    "compare, anomalies, as read-only tools. Speaks JSON-RPC on stdin/stdout; logs on stderr.",
        epilog="examples:\n"
               "  runwise-mcp --root ~/experiments            # read runs under ~/experiments only\n"
               "  runwise-mcp --root runs --root logs         # several roots\n"
               "  runwise-mcp --wandb my-team/my-project      # runs of a W&B project (needs WANDB_API_KEY)\n"
               "  claude mcp add runwise -- runwise-mcp --root \"$PWD\"\n"
               "  npx @modelcontextprotocol/inspector runwise-mcp --root .   # debug in the MCP Inspector")
    p.add_argument("--root", action="append", default=None, metavar="PATH",
                   help=f"folder the server may read (repeatable; default: ${ROOT_ENV}, "
                        f"'{os.pathsep}'-separated, else the working folder)")
    p.add_argument("--wandb", default=None, metavar="ENTITY/PROJECT",
                   help=f"read this W&B project's runs (default: ${PROJECT_ENV}; none: local runs only, "
                        "no network); key from WANDB_API_KEY or `wandb login`, WANDB_BASE_URL for a self-hosted server")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                   help=f"seconds one call may take (default {DEFAULT_TIMEOUT_S:.0f})")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="stderr log level (default WARNING)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Serve over stdio until the client closes the stream; 1 for a bad start (message on stderr)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        roots = Roots.choose(args.root, os.environ.get(ROOT_ENV))
    except RunwiseError as err:
        sys.stderr.write(f"runwise-mcp: {err}\n")
        return 1
    if args.timeout <= 0:
        sys.stderr.write(f"runwise-mcp: --timeout must be positive (got {args.timeout})\n")
        return 1
    project = args.wandb or os.environ.get(PROJECT_ENV) or None
    # As in the CLI, a flag beats the environment: --root with only RUNWISE_WANDB_PROJECT set
    # serves the roots' runs by default and the project's runs when a call names them.
    cloud_default = bool(args.wandb) or not args.root
    try:
        server = create_server(roots, args.timeout, wandb_project=project, cloud_default=cloud_default)
    except RunwiseError as err:  # a malformed ENTITY/PROJECT
        sys.stderr.write(f"runwise-mcp: {err}\n")
        return 1
    logging.getLogger("runwise.server").info("serving runs under %s%s", roots.describe(),
                                             f" and W&B project {project}" if project else "")
    try:
        server.run("stdio")
    except KeyboardInterrupt:  # Ctrl-C in a terminal while debugging: no traceback
        return 130
    return 0
