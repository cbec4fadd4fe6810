"""`runwise-mcp --help` explains itself with examples and starts no server."""

from __future__ import annotations

import subprocess
import sys


def test_help_lists_options_and_examples_and_exits_0():
    done = subprocess.run([sys.executable, "-m", "runwise.server", "--help"], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stderr == ""
    out = done.stdout
    for option in ("--root PATH", "--wandb ENTITY/PROJECT", "--timeout S", "--log-level"):
        assert option in out
    examples = out[out.index("examples:"):].splitlines()[1:]
    assert len(examples) == 5 and all(line.lstrip().startswith(("runwise-mcp", "claude", "npx")) for line in examples)
