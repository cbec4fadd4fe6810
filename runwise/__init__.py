"""runwise: front ends (the ``runwise`` CLI and the MCP server) over ``runwise_core``."""

import os

__version__ = "0.1.0"

# The front ends own their process, and nothing runwise computes uses BLAS (all element-wise
# numpy): OpenBLAS's pool of one thread per core, started when numpy is imported, is pure
# start-up cost (30-70 ms of a 0.3 s command on two loaded cores). Set before anything
# imports numpy; a value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
