"""What the readers of exit-less local formats share: ids, file times, the blank run.

TensorBoard, HF Trainer, Lightning CSV and plain metric logs write no exit marker, so their
runs get ``records_exits=False`` and ``last_activity`` = the newest modification time of their
files: a run written in the last few minutes is running, anything else is ``unknown``, never
``crashed``.

Ids. These formats carry no run id, and a reader does not know the scan root, so the id is
``<label>-<hash6>``: a readable label (the run folder's name, say ``version_0``, or a log
file's stem, cut to 12 characters) and the first 6 hex digits of the SHA-1 of the source name and the absolute path.
It is stable for a path, short, and tells apart the many ``version_0`` folders of one tree.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from ..model import Run
from .columns import flatten  # noqa: F401  (re-exported: one config flattening for every reader)


#: Ids stay short: a long folder name is cut to this many characters (the hash keeps it unique).
MAX_LABEL = 12


def path_id(label: str, path: Path, source: str) -> str:
    """``<label>-<first 6 hex of sha1(source + ":" + absolute path)>``; see the module
    docstring. The source is hashed in so that a folder holding both a TensorBoard file and a
    Lightning ``metrics.csv`` gives two runs with two ids."""
    digest = hashlib.sha1(os.fsencode(f"{source}:{os.path.abspath(path)}")).hexdigest()[:6]
    return f"{label[:MAX_LABEL]}-{digest}"


#: Folder names that say nothing about which run it is: a name goes up past them.
_GENERIC = re.compile(r"(version_\d+|checkpoint-\d+|lightning_logs|logs?|outputs?|runs?|tb|tensorboard|"
                      r"events|train|val|valid|eval|test|results?|metrics|csv|\.)", re.IGNORECASE)


def display_name(path: Path, is_file: bool = False, max_parts: int = 4) -> str:
    """A readable run name from its path: the run's folder (or a log file's name), preceded
    by the nearest folder above it whose name is not generic; generic folders between the two
    (``lightning_logs``, ``output``) are left out, since they tell no two runs apart.

    ``.../slm/lightning_logs/version_0`` -> ``slm/version_0``;
    ``.../detr/output/log.txt`` -> ``detr/log.txt``; ``.../cpt_run`` -> ``cpt_run``.
    """
    parts = Path(os.path.abspath(path)).parts[1:]  # without the root
    if not parts:
        return str(path)
    own = parts[-1]
    if not _GENERIC.fullmatch(Path(own).stem if is_file else own) and not is_file:
        return own
    for depth in range(2, min(max_parts, len(parts)) + 1):
        ancestor = parts[-depth]
        if not _GENERIC.fullmatch(ancestor):
            return f"{ancestor}/{own}"
    return "/".join(parts[-min(2, len(parts)):])


def is_regular(path: Path) -> bool:
    """``path`` leads to a regular file (not a named pipe, whose read would block, nor a
    device). For files the catalog handed to ``scan``: it passes on a link only when the link
    resolves inside the tree being walked."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def side_file(path: Path, within: Path) -> bool:
    """A file a reader looks up by name beside a run (``hparams.yaml``, ``*_results.json``, a
    sibling version's ``metrics.csv``, a checkpoint's state) may be read: a regular file, and
    when it is a link, one that resolves inside ``within`` (the run's own folder tree). The
    catalog never vetted it, and a link may lead out of the folders the user allowed."""
    if not is_regular(path):
        return False
    if not os.path.islink(path):
        return True
    real, base = os.path.realpath(path), os.path.realpath(within)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def newest_mtime(paths: Iterable[Path]) -> float | None:
    """The newest modification time among ``paths`` (missing files ignored)."""
    newest: float | None = None
    for p in paths:
        try:
            t = p.stat().st_mtime
        except OSError:
            continue
        newest = t if newest is None or t > newest else newest
    return newest


def exitless_run(run_id: str, name: str, source: str, path: Path, files: Iterable[Path]) -> Run:
    """A blank :class:`Run` for a format without exit markers, judged alive by file times."""
    return Run(id=run_id, name=name, source=source, path=str(path), records_exits=False,
               last_activity=newest_mtime(files))
