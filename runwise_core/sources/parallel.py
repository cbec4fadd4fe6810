"""One big log decoded on several cores: split into parts, decode them at once, join in order.

A million-step log takes seconds to decode on one core, and the machine has several. A
reader splits the unread bytes of a big file into parts at boundaries its format can find
again from anywhere (a 32 KiB block of a W&B log, a line of a JSONL file), decodes the first
part itself and hands the others to worker processes, then joins the parts in file order.

A part is joined only when it begins exactly where the part before it ended; otherwise (a
damaged record across the boundary, a file rewritten under the read, a worker that failed
or was killed) the reader goes on from the last good record itself, as a one-core read
would. So how the work was split never changes an answer; the tests compare split and
unsplit reads of the same files, damaged ones included.

Workers are fresh interpreters (``python -m runwise_core.sources.part_worker``) that get a
function name and its arguments on stdin and answer on their own stdout pipe. Not a fork:
a fork copies the locks of every other thread (a long-lived MCP server has several) in
whatever state they are in. Not :mod:`multiprocessing`'s spawn either: it re-runs the
caller's main script in each worker, which a script without a ``__main__`` guard turns into
endless spawning. A worker costs ~0.2 s of start-up, which is why only files of at least
:data:`MIN_BYTES` are split. ``RUNWISE_WORKERS=1`` turns splitting off; ``RUNWISE_WORKERS=N``
sets the number of processes (the reader's own included).
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

WORKERS_ENV = "RUNWISE_WORKERS"
#: Files with fewer unread bytes than this are read in one process (~1 s of decoding).
MIN_BYTES = 48 << 20
#: At most this many processes, the reader's own included.
MAX_WORKERS = 4
#: The folder holding ``runwise_core``, so a worker imports the same code as its reader.
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def worker_count() -> int:
    """How many processes a big read may use: ``RUNWISE_WORKERS``, else the CPUs this
    process may run on (at most :data:`MAX_WORKERS`)."""
    env = os.environ.get(WORKERS_ENV, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def split(start: int, end: int, align: int, min_bytes: int | None = None) -> list[tuple[int, int]]:
    """``[start, end)`` as consecutive parts for :func:`worker_count` processes, inner
    boundaries rounded down to a multiple of ``align``; one part when the range is under
    ``min_bytes`` (default :data:`MIN_BYTES`) or one process is all there is."""
    min_bytes = MIN_BYTES if min_bytes is None else min_bytes
    workers = worker_count()
    size = end - start
    if workers <= 1 or size < max(min_bytes, 1):
        return [(start, end)]
    parts = max(1, min(workers, size // max(min_bytes // 2, 1)))
    cuts = [start]
    for i in range(1, parts):
        cut = (start + size * i // parts) // align * align
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(end)
    return list(zip(cuts[:-1], cuts[1:]))


class Job:
    """A part being decoded by a worker process. :meth:`result` is None when the worker
    could not start, failed or died: the reader then decodes that part itself."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                p for p in (_PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")) if p))
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "runwise_core.sources.part_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
            assert self._proc.stdin is not None
            self._proc.stdin.write(pickle.dumps((fn.__module__, fn.__qualname__, args)))
            self._proc.stdin.close()
        except (OSError, ValueError, pickle.PicklingError):
            self.cancel()

    def result(self) -> Any:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        try:
            data = proc.stdout.read()
            code = proc.wait()
        except OSError:
            self.cancel()
            return None
        if code != 0 or not data:
            return None
        try:
            ok, value = pickle.loads(data)  # from our own child, over a private pipe
        except Exception:  # noqa: BLE001 - a cut or garbled answer: read the part here
            return None
        return value if ok else None

    def cancel(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.kill()
            proc.wait()
        except OSError:
            pass
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


class Workers:
    """The worker processes of one read, killed when the read is done with them (a part no
    longer needed, say after damage earlier in the file, is not waited for)."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Job:
        """Run ``fn(*args)`` (a module-level function; picklable arguments) in a new worker."""
        job = Job(fn, args)
        self._jobs.append(job)
        return job

    def close(self) -> None:
        for job in self._jobs:
            job.cancel()


def read_in_parts(parts: list[tuple[int, int]], task: Callable[[int, int | None], tuple[Callable[..., Any], tuple]],
                  read_first: Callable[[int], bool], join: Callable[[Any], bool | None]) -> bool:
    """Read ``parts`` (from :func:`split`): the later ones in workers, the first here, then
    join the workers' answers in file order.

    ``task(start, stop)`` names a worker's call, ``(function, args)``, for the part
    ``[start, stop)`` (``stop`` None for the last: to the end of the file).
    ``read_first(stop)`` reads the first part here and says whether it reached ``stop``.
    ``join(answer)`` takes a worker's answer into the read and says whether that part reached
    its stop, or returns None, taking nothing, when the answer cannot be joined (it does not
    begin where the read so far ends, or needs something from before it).

    True: the read is complete (every part joined, or one ended before its stop, at damage or
    the file's end, where a one-process read ends too). False: an answer was not joined (or
    its worker failed), and the caller reads on from where the joined parts end.
    """
    with workers() as pool:
        jobs = []
        for i, (start, stop) in enumerate(parts[1:], start=1):
            fn, args = task(start, stop if i < len(parts) - 1 else None)
            jobs.append(pool.submit(fn, *args))
        reached: bool | None = read_first(parts[0][1])
        for job in jobs:
            if not reached:
                return True
            answer = job.result()
            reached = None if answer is None else join(answer)
            if reached is None:
                return False
    return True


@contextmanager
def workers() -> Iterator[Workers]:
    pool = Workers()
    try:
        yield pool
    finally:
        pool.close()


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """The worker's side: read one call from ``stdin``, write ``(ok, result)`` to ``stdout``."""
    try:
        module, name, args = pickle.loads(stdin.read())
        if not module.startswith("runwise_core."):
            raise ValueError(f"not a runwise function: {module}.{name}")
        fn = importlib.import_module(module)
        for part in name.split("."):
            fn = getattr(fn, part)
        value = (True, fn(*args))
    except Exception as e:  # noqa: BLE001 - reported as a failed part; the reader reads it itself
        value = (False, f"{type(e).__name__}: {e}")
    stdout.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    stdout.flush()
    return 0
