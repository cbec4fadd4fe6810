"""A worker process of :mod:`.parallel`: ``python -m runwise_core.sources.part_worker``."""

import sys

from runwise_core.sources.parallel import serve

if __name__ == "__main__":
    sys.exit(serve(sys.stdin.buffer, sys.stdout.buffer))
