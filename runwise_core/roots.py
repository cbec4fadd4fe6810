"""The folders a front end may read, and the one check every path from outside passes.

A server hands paths chosen by a model to readers, so every such path is confined: it is
resolved the way the operating system will resolve it (``os.path.realpath``: ``..``, ``~``
and every symlink on the way) and accepted only when the result lies under one of the roots,
themselves resolved the same way. Containment is judged by ``os.path.commonpath`` on whole
path components, so a root ``/data/runs`` does not admit ``/data/runs-old``.

Pure: no printing, no exiting; refusals raise :class:`~runwise_core.errors.PathNotAllowed`
with the roots named, so the caller knows where it may look instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import PathNotAllowed, UsageError

#: The environment variable holding roots, separated by ``os.pathsep``.
ROOT_ENV = "RUNWISE_ROOT"


@dataclass(frozen=True)
class Roots:
    """Resolved, existing folders, in the order given (the first resolves relative paths)."""

    paths: tuple[Path, ...]

    @classmethod
    def of(cls, folders: Iterable[str | os.PathLike[str]], cwd: str | os.PathLike[str] | None = None) -> "Roots":
        """Resolve ``folders`` (relative ones against ``cwd``, default the working folder).

        Raises :class:`UsageError` for an empty list or a folder that does not exist: a
        server started on a mistyped root would otherwise answer every call with "no runs".
        """
        base = Path(cwd) if cwd is not None else Path.cwd()
        out: list[Path] = []
        for folder in folders:
            raw = os.path.expanduser(os.fspath(folder))
            real = Path(os.path.realpath(base / raw))
            if not real.is_dir():
                raise UsageError(f"root {raw!r} is not a folder (resolved to {real}); "
                                 "pass --root PATH or set RUNWISE_ROOT to existing folders")
            if real not in out:
                out.append(real)
        if not out:
            raise UsageError("no root folder given; pass --root PATH or set RUNWISE_ROOT")
        return cls(tuple(out))

    @classmethod
    def choose(cls, given: Sequence[str] | None, env: str | None, cwd: str | os.PathLike[str] | None = None) -> "Roots":
        """The roots a front end should use: ``given`` (``--root``, repeatable) if any, else
        ``env`` (``RUNWISE_ROOT``, ``os.pathsep``-separated, empty parts ignored), else ``cwd``."""
        if given:
            return cls.of(given, cwd)
        parts = [p for p in (env or "").split(os.pathsep) if p.strip()]
        if parts:
            return cls.of(parts, cwd)
        return cls.of([cwd if cwd is not None else os.getcwd()], cwd)

    def describe(self) -> str:
        return ", ".join(str(p) for p in self.paths)

    def contains(self, real: str | os.PathLike[str]) -> bool:
        """Whether the already resolved path ``real`` is a root or lies below one."""
        target = os.fspath(real)
        for root in self.paths:
            r = os.fspath(root)
            try:
                if os.path.commonpath([r, target]) == r:
                    return True
            except ValueError:  # different drives (Windows): certainly not inside
                continue
        return False

    def confine(self, path: str | os.PathLike[str]) -> Path:
        """The real path behind ``path`` if it lies under a root, else :class:`PathNotAllowed`.

        A relative path is tried against each root in order and taken from the first root
        where it exists (the first root when it exists nowhere, so the reader reports the
        missing file). The returned path is the resolved one: reading it cannot leave the
        roots through a symlink swapped in later along the way, short of a race on the file
        itself.
        """
        text = os.fspath(path)
        if not text.strip() or "\x00" in text:
            raise PathNotAllowed(f"not a usable path: {text!r}; give a file under {self.describe()}")
        expanded = os.path.expanduser(text)
        if os.path.isabs(expanded):
            candidates = [Path(expanded)]
        else:
            candidates = [root / expanded for root in self.paths]
        chosen = next((c for c in candidates if os.path.lexists(c)), candidates[0])
        real = Path(os.path.realpath(chosen))
        if not self.contains(real):
            raise PathNotAllowed(f"{text} resolves to {real}, outside the folders this server may read "
                                 f"({self.describe()}); give a path under one of them, or restart the "
                                 "server with --root PATH / RUNWISE_ROOT")
        return real
