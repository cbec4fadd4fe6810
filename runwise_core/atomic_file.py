"""Replace a cache file in one step, so a concurrent reader sees the old file or the new one.

Both caches (decoded logs in :mod:`.cache`, analysis answers in :mod:`.fact_store`) write
this way: to a temporary file beside the target, then ``os.replace``. A writer that dies
leaves a ``.tmp-*`` file, which each cache's pruning removes after a while.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def write_atomically(file: Path, parts: Iterable[bytes], suffix: str) -> None:
    """Write ``parts`` to ``file`` through a temporary ``.tmp-*<suffix>`` file in its folder
    (created if missing); on any failure the temporary file is removed and the error raised."""
    import tempfile  # only when writing: a warm read does not pay for it

    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=file.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
        os.replace(tmp, file)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
