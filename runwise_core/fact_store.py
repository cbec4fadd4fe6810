"""An on-disk store of analysis results, so that a new process does not recompute them.

Finding the anomalies of a 1M-step run, or the trend and best value of each key metric,
takes most of a second; the answers take a few hundred bytes. The store keeps them beside
the decoded-log cache (:mod:`.cache`: the same root, and ``RUNWISE_NO_CACHE`` turns both
off), never inside a run folder, in one small file per run (a *slot*) named by a hash of
the run's source, id and paths.

A slot holds the answers for one version of a run's data, named by its *data key*: a hash
of what the caller says identifies the data (the catalog gives every file's path, size,
mtime, ctime and inode, and the shape of the loaded series) and of the analysis code's
version (:func:`code_version`: runwise_core's source and numpy's version). A change to the
files or to the code gives a new key, and the slot's old answers are dropped at its next
write. Callers store data-derived facts only, never clock-dependent ones (a run's state is
judged when asked).

Format: a first line ``RWFACTS <format version> <crc32 of the rest, 8 hex digits>``, then
one JSON object ``{"data": key, "paths": [...], "answers": {question: answer}}``. Nothing
in a file is unpickled or executed, and a file that fails any check is ignored (and
replaced by the next write). Writes go to a temporary file in the same folder, moved into
place with ``os.replace``: a concurrent reader sees the old slot or the new one, never a
mix. Two writers racing may drop each other's newest answer, which costs only its
recomputation.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .atomic_file import write_atomically

MAGIC = "RWFACTS"
VERSION = 1
#: Answers one slot keeps (the oldest go first): distinct questions about one run are few
#: (each ``-k`` selection, each key's facts), so this only bounds a pathological caller.
MAX_ANSWERS = 256
#: The chance that a write also prunes the slots of runs whose files are gone.
PRUNE_CHANCE = 1 / 32
#: A temporary file older than this is left by a writer that died.
STALE_TMP_S = 3600


@functools.lru_cache(maxsize=1)
def code_version() -> str | None:
    """A hash of every ``.py`` file of runwise_core, numpy's version and Python's: any change
    to the code that computes an answer (or to the library under it) invalidates stored
    answers. None when the source cannot be read, or is not there to read (an install of
    compiled files only): then nothing is stored."""
    import numpy  # the arithmetic under every answer; imported by then anyway

    digest = hashlib.sha256(f"{numpy.__version__}\0{sys.version_info[:2]}".encode())
    package = Path(__file__).resolve().parent
    read = 0
    try:
        for folder, dirs, files in os.walk(package):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    digest.update(os.path.relpath(path, package).encode("utf-8", "surrogateescape") + b"\0")
                    with open(path, "rb") as f:
                        digest.update(f.read())
                    read += 1
    except OSError:
        return None
    return digest.hexdigest() if read else None


class FactStore:
    """Slots of stored answers under ``root/facts-v1``."""

    def __init__(self, root: Path | str) -> None:
        self.folder = Path(root) / f"facts-v{VERSION}"
        self.notes: list[str] = []  # write failures, for whoever wants to show them

    def slot(self, ident: Sequence[str], data: Any, paths: Sequence[str]) -> "Slot | None":
        """The slot of the run named by ``ident`` (source, id, paths) for the data that
        ``data`` identifies (any JSON value); ``paths`` are the files or folders whose removal
        makes the slot garbage. None when the code version is unknown."""
        version = code_version()
        if version is None:
            return None
        name = hashlib.sha256("\0".join(ident).encode("utf-8", "surrogateescape")).hexdigest()
        key = hashlib.sha256(json.dumps([version, data], separators=(",", ":")).encode("utf-8", "surrogateescape"))
        return Slot(self, self.folder / name[:2] / f"{name}.json", key.hexdigest(), tuple(paths))

    def prune(self) -> int:
        """Delete slots whose run's files are gone (and temporary files of dead writers);
        returns how many. Runs now and then after a write."""
        removed = 0
        try:
            files = list(self.folder.glob("*/*.json")) + list(self.folder.glob("*/.tmp-*"))
        except OSError:
            return 0
        for file in files:
            try:
                if file.name.startswith(".tmp-"):
                    gone = time.time() - file.stat().st_mtime > STALE_TMP_S
                else:
                    parsed = _parse(file.read_bytes())
                    paths = parsed.get("paths") if parsed is not None else None
                    gone = isinstance(paths, list) and any(isinstance(p, str) and not os.path.lexists(p)
                                                           for p in paths)
                if gone:
                    file.unlink()
                    removed += 1
            except OSError:
                continue
        return removed


class Slot:
    """The stored answers about one version of one run's data.

    Read lazily, once, on the first :meth:`get`; :meth:`put` merges into what the file holds
    by then (another process may have added answers). Safe to share between threads.
    """

    def __init__(self, store: FactStore, file: Path, data_key: str, paths: tuple[str, ...]) -> None:
        self.store = store
        self.file = file
        self.data_key = data_key
        self.paths = paths
        self._answers: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def get(self, question: str) -> Any:
        """The stored answer to ``question`` (a JSON value), or None."""
        with self._lock:
            if self._answers is None:
                self._answers = self._read()
            return self._answers.get(question)

    def put(self, question: str, answer: Any) -> None:
        """Store ``answer`` (a JSON value; NaN and infinities allowed). Failures (read-only or
        full disk) are noted on the store, never raised: a store that cannot write only
        costs time."""
        import random  # only when writing: a process that reads its answers does not pay for it
        with self._lock:
            answers = self._read()
            answers.pop(question, None)
            answers[question] = answer
            while len(answers) > MAX_ANSWERS:
                del answers[next(iter(answers))]
            self._answers = answers
            try:
                self._write(answers)
            except (OSError, ValueError) as e:
                self.store.notes.append(f"analysis not stored in {self.store.folder} ({e})")
                return
        if random.random() < PRUNE_CHANCE:
            self.store.prune()

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.file, "rb") as f:
                parsed = _parse(f.read())
        except OSError:
            return {}
        if parsed is None or parsed.get("data") != self.data_key:
            return {}  # damaged, or about another version of the data: as good as absent
        answers = parsed.get("answers")
        return dict(answers) if isinstance(answers, dict) else {}

    def _write(self, answers: dict[str, Any]) -> None:
        body = json.dumps({"data": self.data_key, "paths": list(self.paths), "answers": answers},
                          separators=(",", ":")).encode("utf-8", "surrogateescape")
        write_atomically(self.file, (f"{MAGIC} {VERSION} {zlib.crc32(body):08x}\n".encode(), body), ".json")


def _parse(blob: bytes) -> dict[str, Any] | None:
    """The JSON object of a slot file, or None when any check fails."""
    head, sep, body = blob.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != MAGIC.encode() or parts[1] != str(VERSION).encode():
        return None
    try:
        if int(parts[2], 16) != zlib.crc32(body):
            return None
        parsed = json.loads(body.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None
