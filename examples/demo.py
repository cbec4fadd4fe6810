"""Walk the zoom levels on the example runs, printing each level and what it costs in tokens.

    make demo            (or: .venv/bin/python examples/demo.py)

Each level runs the real ``runwise`` command in a subprocess on ``examples/wandb`` (four
real offline W&B runs; ``examples/make_examples.py`` wrote them). Tokens are counted with
the Claude tokenizer in ``../shared/tools`` when it and ``tokenizers`` are available;
otherwise with runwise's own conservative estimate, and the demo says which.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULER = HERE.parent.parent / "shared" / "tools" / "claude-tokenizer.json"

LEVELS: list[tuple[str, list[str]]] = [
    ("1. Which runs exist, and how are they doing?", ["list"]),
    ("2. How is the newest run going?", ["latest"]),
    ("2. The run with trouble: anomalies come first", ["run", "spiky"]),
    ("3. Which metrics can I ask for?", ["keys", "spiky"]),
    ("4. Exact numbers, cheaply", ["stats", "spiky", "-k", "train/loss,val/loss"]),
    ("4. The curve around the spike, real steps", ["history", "spiky", "-k", "train/loss", "--steps", "1180:1220"]),
    ("5. What differs between two runs?", ["compare", "healthy-baseline", "overfit", "-t", "5", "-d"]),
    ("5. Same step, different runs", ["compare", "healthy-baseline@1000", "overfit@1000", "-k", "train/loss,val/loss"]),
]


def counter() -> tuple[Callable[[str], int], str]:
    """The real ruler when available, else the core's estimate (an upper bound)."""
    try:
        from tokenizers import Tokenizer

        if RULER.exists():
            tok = Tokenizer.from_file(str(RULER))
            return (lambda text: len(tok.encode(text).ids)), "Claude tokenizer (../shared/tools)"
    except ImportError:
        pass
    from runwise_core.tokens import estimate

    return estimate, "runwise's estimate (an upper bound; ../shared/tools not found)"


def main() -> int:
    count, how = counter()
    env = dict(os.environ, RUNWISE_DIR=str(HERE))
    total = 0
    print(f"runwise demo on {HERE / 'wandb'}; tokens counted with {how}\n")
    for title, args in LEVELS:
        proc = subprocess.run([sys.executable, "-m", "runwise", *args], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(f"runwise {' '.join(args)} failed:\n{proc.stderr}", file=sys.stderr)
            return 1
        n = count(proc.stdout)
        total += n
        print(f"── {title}")
        print(f"$ runwise {' '.join(args)}    [{n} tokens]")
        print(proc.stdout)
    print(f"all {len(LEVELS)} levels: {total} tokens. Add --format md or --format json to any command, "
          "and --max-tokens N to cap it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
