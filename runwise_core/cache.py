"""An on-disk cache of decoded logs, so that a run read once is instant on the next process.

Reading a 1M-step ``.wandb`` log takes seconds; loading its decoded columns takes a
fraction of one. Each entry holds what a reader decoded from one log file (numpy columns
plus a small JSON state) and the file facts it was decoded from: size, mtime, inode, the
offset where decoding stopped and a checksum of the bytes just before it. A reader uses an
entry as it is when the file is unchanged, resumes decoding at the stored offset when the
file only grew (a live run: the cost follows the new bytes), and decodes afresh otherwise
(rewritten, shrunk, replaced). Entries never hold clock-dependent facts (a run's state is
judged when asked) and never change an answer: tests compare cached and uncached reads.

Where: ``$RUNWISE_CACHE_DIR``, else ``$XDG_CACHE_HOME/runwise``, else ``~/.cache/runwise``;
never inside a run folder. ``RUNWISE_NO_CACHE=1`` (or ``Catalog(..., cache=None)``) turns
it off.

Format (one file per log, named by a hash of the log's absolute path): ``RWCACHE`` magic and
format version, a length-prefixed JSON header with its crc32, then raw little-endian int64 /
float64 arrays, 16-byte aligned, with a crc32 of all of them in the header. Nothing in a file
is executed or unpickled; a file that fails any check is ignored (and replaced by the next
write). Writes go to a temporary file in the same folder and are moved into place with
``os.replace``, so concurrent readers see the old entry or the new one, never a mix.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import struct
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .atomic_file import write_atomically

#: Set (to anything but "", 0, false, no) to turn every runwise cache off.
NO_CACHE_ENV = "RUNWISE_NO_CACHE"
MAGIC = b"RWCACHE"
VERSION = 1
_PREFIX = struct.Struct("<7sBII")  # magic, version, header length, header crc32
_ALIGN = 16
_DTYPES = {"<i8": np.int64, "<f8": np.float64}
#: How many bytes before the stop offset must still match for a grown file to be resumed.
TAIL_CHECK = 4096
#: The chance that a write also prunes entries of logs that no longer exist.
PRUNE_CHANCE = 1 / 32


def default_dir() -> Path:
    """The cache folder the environment names (see the module docstring)."""
    env = os.environ.get("RUNWISE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "runwise"


def disabled_by_env() -> bool:
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class FileFacts:
    """What identifies one version of a log file."""

    size: int
    mtime_ns: int
    inode: int
    device: int
    #: Any write changes it and nothing can set it back, unlike the mtime (``touch -d``,
    #: a copy that keeps times): a same-size rewrite with its mtime restored is not "same".
    ctime_ns: int = 0

    @classmethod
    def of(cls, path: Path) -> "FileFacts":
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, st.st_ctime_ns)

    def as_json(self) -> list[int]:
        return [self.size, self.mtime_ns, self.inode, self.device, self.ctime_ns]


@dataclass
class Entry:
    """One decoded log: ``meta`` is the reader's JSON state, ``arrays`` its columns."""

    facts: FileFacts
    end_offset: int
    tail_crc: int
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    def plan(self, path: Path, now: FileFacts) -> str:
        """``"same"`` (use as is), ``"grown"`` (resume at ``end_offset``) or ``"stale"``."""
        if now == self.facts:
            return "same"
        if (now.inode, now.device) != (self.facts.inode, self.facts.device) or now.size < self.facts.size:
            return "stale"
        if now.size == self.facts.size or self.end_offset > now.size:
            return "stale"  # same size, new mtime: rewritten in place, not appended to
        return "grown" if tail_crc(path, self.end_offset) == self.tail_crc else "stale"


def tail_crc(path: Path, end: int) -> int:
    """crc32 of the (up to) ``TAIL_CHECK`` bytes before ``end`` and of the first 64 bytes: a
    cheap check that a grown file still starts and continues as the decoded one did."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            start = max(0, end - TAIL_CHECK)
            f.seek(start)
            tail = f.read(end - start)
    except OSError:
        return -1
    if len(tail) != end - start:
        return -1
    return zlib.crc32(tail, zlib.crc32(head))


class RunCache:
    """Decoded logs under one folder, one file per log."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()
        self.notes: list[str] = []  # write failures, for whoever wants to show them

    def entry_path(self, kind: str, path: Path) -> Path:
        # surrogateescape: a file name that is not UTF-8 reaches Python with lone surrogates
        ident = hashlib.sha256(f"{kind}\0{os.path.abspath(path)}".encode("utf-8", "surrogateescape")).hexdigest()
        return self.root / f"v{VERSION}" / ident[:2] / f"{ident}.rwc"

    # -- reading -------------------------------------------------------------------------
    def get(self, kind: str, path: Path) -> Entry | None:
        """The entry for ``path``, or None when there is none or it fails a check."""
        file = self.entry_path(kind, path)
        try:
            with open(file, "rb", buffering=0) as f:
                size = os.fstat(f.fileno()).st_size
                # np.empty, not bytearray(size): a bytearray is zero-filled first, one more pass
                # over ~80 MB for a 1M-step run (a third of a warm load); the arrays returned
                # are views into this buffer, writable as before.
                data = np.empty(size, dtype=np.uint8)
                if f.readinto(memoryview(data)) != size:
                    return None
        except OSError:
            return None
        return _decode(data, kind, os.path.abspath(path))

    # -- writing -------------------------------------------------------------------------
    def put(self, kind: str, path: Path, facts: FileFacts, end_offset: int, meta: dict[str, Any],
            arrays: dict[str, np.ndarray]) -> None:
        """Store an entry atomically. Failures (read-only disk, full disk) are noted, never
        raised: a cache that cannot write only costs time."""
        import random  # (only when writing: a warm read does not pay for it)

        file = self.entry_path(kind, path)
        try:
            blob = _encode(kind, os.path.abspath(path), facts, end_offset, tail_crc(path, end_offset), meta, arrays)
            write_atomically(file, blob, ".rwc")
        except (OSError, ValueError) as e:
            self.notes.append(f"cache not written to {self.root} ({e})")
            return
        if random.random() < PRUNE_CHANCE:
            self.prune()

    # -- housekeeping --------------------------------------------------------------------
    def prune(self) -> int:
        """Delete entries whose log no longer exists (runs deleted, temporary folders gone)
        and leftover temporary files; returns how many. Runs now and then after a write.
        Entries written with no file facts (W&B cloud histories) are kept: their path names
        no file, and the cloud catalog checks them against the server instead."""
        removed = 0
        folder = self.root / f"v{VERSION}"
        try:
            files = list(folder.glob("*/*.rwc")) + list(folder.glob("*/.tmp-*"))
        except OSError:
            return 0
        for file in files:
            try:
                if file.name.startswith(".tmp-"):
                    if time.time() - file.stat().st_mtime > 3600:  # a writer that died
                        file.unlink()
                        removed += 1
                    continue
                path = _entry_log_path(file)
                if path is not None and not os.path.exists(path):
                    file.unlink()
                    removed += 1
            except OSError:
                continue
        return removed


def _entry_log_path(file: Path) -> str | None:
    """The log path an entry was written for, from its header alone (None if unreadable)."""
    with open(file, "rb") as f:
        prefix = f.read(_PREFIX.size)
        if len(prefix) < _PREFIX.size:
            return None
        magic, version, hlen, hcrc = _PREFIX.unpack(prefix)
        if magic != MAGIC or hlen > 1 << 26:
            return None
        header = f.read(hlen)
    if zlib.crc32(header) != hcrc:
        return None
    try:
        fields = json.loads(header)
        path, facts = fields["path"], fields["facts"]
    except (ValueError, KeyError, TypeError):
        return None
    if isinstance(facts, list) and not any(facts):
        return None  # written for no file (a W&B server's history): no log whose loss ends it
    return path if isinstance(path, str) else None


def _encode(kind: str, path: str, facts: FileFacts, end_offset: int, tail: int, meta: dict[str, Any],
            arrays: dict[str, np.ndarray]) -> list[bytes | memoryview]:
    specs: list[list[Any]] = []
    parts: list[memoryview] = []
    offset = 0
    for name, arr in arrays.items():
        dtype = "<i8" if arr.dtype.kind in "iu" else "<f8"
        a = np.ascontiguousarray(arr, dtype=_DTYPES[dtype])
        specs.append([name, dtype, offset, int(a.size)])
        view = memoryview(a).cast("B")
        parts.append(view)
        offset += len(view)
        pad = -offset % _ALIGN
        if pad:
            parts.append(memoryview(bytes(pad)))
            offset += pad
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    header = json.dumps({"kind": kind, "path": path, "facts": facts.as_json(), "end_offset": end_offset,
                         "tail_crc": tail, "meta": meta, "arrays": specs, "data_crc": crc,
                         "data_len": offset}, separators=(",", ":")).encode()
    header += b" " * (-(_PREFIX.size + len(header)) % _ALIGN)
    return [_PREFIX.pack(MAGIC, VERSION, len(header), zlib.crc32(header)), header, *parts]


def _decode(data: np.ndarray, kind: str, path: str) -> Entry | None:
    """Check every part of a cache file; None for anything unexpected (a corrupt entry)."""
    if len(data) < _PREFIX.size:
        return None
    magic, version, hlen, hcrc = _PREFIX.unpack_from(data)
    start = _PREFIX.size + hlen
    if magic != MAGIC or version != VERSION or start > len(data):
        return None
    header = data[_PREFIX.size:start].tobytes()
    if zlib.crc32(header) != hcrc:
        return None
    try:
        head = json.loads(header)
        if head["kind"] != kind or head["path"] != path:
            return None  # another log whose path hashed the same: not ours
        body = memoryview(data)[start:]
        if head["data_len"] != len(body) or zlib.crc32(body) != head["data_crc"]:
            return None
        arrays: dict[str, np.ndarray] = {}
        for name, dtype, offset, count in head["arrays"]:
            np_type = _DTYPES[dtype]
            if offset < 0 or count < 0 or offset + count * 8 > len(body) or offset % 8:
                return None
            arrays[name] = np.frombuffer(data, dtype=np_type, count=count, offset=start + offset)
        facts = FileFacts(*(int(x) for x in head["facts"]))
        return Entry(facts, int(head["end_offset"]), int(head["tail_crc"]), dict(head["meta"]), arrays)
    except (ValueError, KeyError, TypeError):
        return None


class Lookup(NamedTuple):
    """What the cache in effect holds for one log: the cache (None: caching is off, or the
    file cannot be stat'ed), the file's facts now, the entry, and how the entry may be used:
    ``"same"`` (as is), ``"grown"`` (resume at its ``end_offset``) or ``"stale"``."""

    cache: RunCache | None
    facts: FileFacts | None
    entry: Entry | None
    plan: str


def lookup(kind: str, path: Path) -> Lookup:
    """The one way readers consult the cache in effect (see :func:`using`) for ``path``."""
    cache = current()
    if cache is None:
        return Lookup(None, None, None, "stale")
    try:
        facts = FileFacts.of(path)
    except OSError:
        return Lookup(None, None, None, "stale")
    entry = cache.get(kind, path)
    return Lookup(cache, facts, entry, entry.plan(path, facts) if entry is not None else "stale")


# -- the cache in effect -----------------------------------------------------------------
_CURRENT: contextvars.ContextVar[RunCache | None] = contextvars.ContextVar("runwise_cache", default=None)


def current() -> RunCache | None:
    """The cache readers should use right now (set by :func:`using`), or None."""
    return _CURRENT.get()


@contextmanager
def using(cache: RunCache | None) -> Iterator[None]:
    """Make ``cache`` the one readers use inside the ``with`` block (None: no cache).

    The catalog wraps each load in this, so readers stay usable on their own (uncached)
    and no global setting leaks between catalogs or threads.
    """
    token = _CURRENT.set(cache)
    try:
        yield
    finally:
        _CURRENT.reset(token)
