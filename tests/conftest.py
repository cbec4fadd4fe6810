"""Test-wide set-up: every test process gets its own cache folder.

runwise caches decoded logs under the user's cache folder by default; tests must neither
read a stale entry left by another run of the suite nor fill the developer's ~/.cache.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="runwise-test-cache-")
os.environ["RUNWISE_CACHE_DIR"] = _CACHE  # read by runwise_core.cache (and inherited by subprocesses)
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
