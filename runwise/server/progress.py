"""Progress of one tool call, from the worker thread to the client.

The worker thread only posts steps (done, total, message) into a stream; one task on the
event loop sends them, so notifications leave in order and the rules of the protocol hold
in one place:

* progress strictly increases: a step that does not (the second run of ``compare_runs``
  starts again at 0) continues the count with an unknown total;
* while a step takes long (a large log being parsed) a heartbeat every ``heartbeat_s``
  says so, with a value between that step and the next, so a client sees the read is alive
  (and clients that extend their time limit on progress keep waiting);
* nothing is sent after the call is answered.

Progress is a courtesy: a failure to send it is logged and ends the progress, never the call.
"""

from __future__ import annotations

import logging
import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import Context

log = logging.getLogger("runwise.server")

#: Seconds between heartbeats while one step runs.
DEFAULT_HEARTBEAT_S = 2.0
#: Steps buffered between the thread and the sender; more are dropped (progress is advisory).
BUFFER = 64

Step = tuple[float, float | None, str]


class CallProgress:
    """Made on the event loop for one call; :meth:`post` is called from the worker thread."""

    def __init__(self, ctx: Context | None, heartbeat_s: float = DEFAULT_HEARTBEAT_S) -> None:
        self._ctx = ctx
        self._heartbeat_s = heartbeat_s
        self._send: MemoryObjectSendStream[Step]
        self._receive: MemoryObjectReceiveStream[Step]
        self._send, self._receive = anyio.create_memory_object_stream[Step](BUFFER)
        self.closed = False

    def post(self, done: float, total: float | None, message: str) -> None:
        """A step, from the worker thread (the :data:`~.workspace.Progress` signature)."""
        if self.closed or self._ctx is None:
            return
        try:
            anyio.from_thread.run_sync(self._send.send_nowait, (float(done), total, message))
        except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError, RuntimeError) as err:
            # full, answered already, or the loop is gone (an abandoned thread): drop the step
            log.debug("progress step %r dropped (%s)", message, type(err).__name__)

    def close(self) -> None:
        """The call is answered: the sender sends what is queued and stops; later posts are dropped."""
        self.closed = True
        self._send.close()

    async def pump(self) -> None:
        """Send the posted steps and the heartbeats until :meth:`close` (run on the event loop)."""
        if self._ctx is None:
            await self._drain()
            return
        last_step = -1.0  # the value of the last real step sent
        total: float | None = None
        message = ""
        ticks = 0
        started = anyio.current_time()
        async with self._receive:
            while True:
                step: Step | None = None
                with anyio.move_on_after(self._heartbeat_s):
                    try:
                        step = await self._receive.receive()
                    except anyio.EndOfStream:
                        return
                if step is not None:
                    done, total, message = step
                    if done <= last_step:  # a new phase: keep counting up, total unknown
                        done, total = last_step + 1, None
                    last_step, ticks = done, 0
                    value, text = done, message
                else:
                    ticks += 1
                    value = last_step + 1 - 1 / (ticks + 1)  # above the step, below the next one
                    text = f"{message} (still working, {anyio.current_time() - started:.0f} s)"
                if not await self._send_one(value, total, text):
                    await self._drain()
                    return

    async def _send_one(self, value: float, total: float | None, message: str) -> bool:
        assert self._ctx is not None
        try:
            await self._ctx.report_progress(value, total, message)
        except Exception as err:  # a client that went away must not fail the read
            log.debug("progress not delivered (%s: %s); no more progress for this call", type(err).__name__, err)
            return False
        return True

    async def _drain(self) -> None:
        async with self._receive:
            async for _ in self._receive:
                pass

