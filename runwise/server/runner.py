"""How every tool call runs: in a worker thread, under the workspace lock, within a time
limit, with progress, and with every failure turned into a ``ToolError`` at this one place.

In mcp 2.3 an exception other than ``ToolError`` reaches the model as a bare "Error
executing tool X", which tells it nothing. So :class:`~runwise_core.errors.RunwiseError`
(the failures a caller can cause; their messages name the next step) becomes a
``ToolError`` with that message, and anything else becomes a short ``ToolError`` naming the
failure while its traceback goes to the log on stderr.

Reads run in a worker thread (``anyio.to_thread``) so the event loop keeps answering
(pings, cancellations, other calls) while a large log is parsed; :mod:`.progress` sends
their progress. A call that outlives
:attr:`Runner.timeout_s` is answered with an error and its thread is abandoned; the lock
it holds makes later calls wait for it rather than read the catalog concurrently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from runwise_core.errors import RunwiseError
from runwise_core.render import render
from runwise_core.tokens import estimate

from .progress import DEFAULT_HEARTBEAT_S, CallProgress
from .workspace import Listed, Progress, Workspace

log = logging.getLogger("runwise.server")

#: Default time limit of one call, in seconds (``--timeout``).
DEFAULT_TIMEOUT_S = 300.0


class Runner:
    """Runs one tool's work against a :class:`Workspace` and renders the result as text."""

    def __init__(self, workspace: Workspace, timeout_s: float = DEFAULT_TIMEOUT_S,
                 heartbeat_s: float = DEFAULT_HEARTBEAT_S) -> None:
        self.workspace = workspace
        self.timeout_s = timeout_s
        self.heartbeat_s = heartbeat_s

    async def text(self, tool: str, ctx: Context | None, work: Callable[[Progress], Any], max_tokens: int) -> str:
        """``work(progress)`` returns a view result (or :class:`Listed`); the answer is its
        text rendering within ``max_tokens``."""
        progress = CallProgress(ctx, self.heartbeat_s)
        abandoned = threading.Event()

        def job() -> str:
            with self.workspace.lock:
                if abandoned.is_set():  # answered already (timeout, cancel) while waiting for the lock
                    return ""
                result = work(lambda done, total, message: progress.post(done, total, sendable(message)))
                return sendable(render_listed(result, max_tokens))

        failure: Exception | None = None
        text = ""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(progress.pump)
                try:
                    with anyio.fail_after(self.timeout_s):
                        text = await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
                except Exception as err:  # mapped below, outside the task group (which would wrap it)
                    failure = err
                finally:
                    progress.close()
        finally:
            # Whatever ended the wait (an answer, a timeout, the client cancelling), the
            # thread must not start its work after it.
            abandoned.set()
        if failure is None:
            return text
        raise self._tool_error(tool, failure)

    def _tool_error(self, tool: str, err: Exception) -> ToolError:
        """The one mapping of failures to what the model reads."""
        if isinstance(err, TimeoutError):
            log.warning("%s: no answer within %g s; its thread was left to finish", tool, self.timeout_s)
            return ToolError(f"{tool} did not finish within {self.timeout_s:g} s (a very large log is still being "
                             "read in the background; later calls will wait for it). Try again in a minute, or "
                             "ask for less: fewer runs (limit), fewer keys, a step range")
        if isinstance(err, RunwiseError):
            error = ToolError(sendable(str(err)))
        elif isinstance(err, ToolError):
            return err
        else:  # the one catch-all: logged with its traceback, answered with a short message
            log.error("%s failed unexpectedly", tool, exc_info=err)
            detail = sendable(str(err).splitlines()[0][:200]) if str(err) else ""
            error = ToolError(f"{tool} failed inside runwise ({type(err).__name__}{': ' + detail if detail else ''}). "
                              "This is a runwise bug, logged on the server's stderr; other runs and tools still "
                              "work, e.g. list_runs or summarize_run with another run")
        error.__cause__ = err
        return error


def sendable(text: str) -> str:
    """``text`` with what UTF-8 cannot encode replaced: a log's JSON key may hold lone
    surrogates (``"\\ud800"``) and a file name that is not UTF-8 reaches Python as them; one
    such character in a message kills the SDK's stdout writer, and with it the server."""
    return text.encode("utf-8", "replace").decode("utf-8")


def render_listed(result: Any, max_tokens: int) -> str:
    """Render ``result`` within ``max_tokens``; a :class:`Listed` also names the runs it
    skipped as unreadable, in a line the budget makes room for."""
    if not isinstance(result, Listed):
        return render(result, "text", max_tokens)
    note = ""
    if result.skipped:
        shown = "; ".join(s.splitlines()[0][:160] for s in result.skipped[:3])
        more = f" (+{len(result.skipped) - 3} more)" if len(result.skipped) > 3 else ""
        note = f"skipped {len(result.skipped)} unreadable run(s): {shown}{more}\n"
        if estimate(note) > max_tokens // 4:
            note = f"skipped {len(result.skipped)} unreadable run(s)\n"
    text = render(result.result, "text", max(max_tokens - estimate(note), 1))
    return text + note
