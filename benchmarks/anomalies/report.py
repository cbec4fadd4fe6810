"""Rerun every anomaly benchmark and write its tables into README.md (between marker comments).

    .venv/bin/python benchmarks/anomalies/report.py

Sections: ``score`` (seed 0 table), ``seeds`` (seeds 0-2 summary), ``realdata`` and
``speed``. Each is replaced between ``<!-- begin:NAME -->`` and ``<!-- end:NAME -->``, so
the README's numbers always come from a real run of this code.
"""

from __future__ import annotations

import contextlib
import io
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import realdata  # noqa: E402
import speed  # noqa: E402
from corpus import make_corpus  # noqa: E402
from score import score, table  # noqa: E402


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sections() -> dict[str, str]:
    out: dict[str, str] = {}
    rows = ["| seed | recall | precision | F1 | healthy runs with any finding | detection time |", "|---|---|---|---|---|---|"]
    for seed in (0, 1, 2):
        s = score(make_corpus(seed))
        p, r, f = s.prf()
        if seed == 0:
            out["score"] = table(s)
        rows.append(f"| {seed} | {r:.3f} | {p:.3f} | {f:.3f} | {s.healthy_alarmed} of {s.healthy} "
                    f"({s.false_alarms_per_20:.2f} per 20) | {s.seconds:.1f} s |")
    out["seeds"] = "\n".join(rows)
    out["realdata"] = realdata.report(realdata.evaluate(realdata.DEFAULT_DIR))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        old = sys.argv
        sys.argv = ["speed.py"]
        try:
            speed.main()
        finally:
            sys.argv = old
    out["speed"] = buf.getvalue().strip()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out["machine"] = (f"Measured {when} at commit {_commit()} on {_cpu()} ({_cores()} cores, shared), "
                      f"Python {platform.python_version()}, numpy {np.__version__}.")
    return out


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def write(readme: Path, parts: dict[str, str]) -> None:
    text = readme.read_text()
    for name, body in parts.items():
        pattern = re.compile(rf"(<!-- begin:{name} -->\n).*?(\n<!-- end:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- begin:{name} --> ... <!-- end:{name} --> section")
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
    readme.write_text(text)


def main() -> int:
    write(HERE / "README.md", sections())
    print(f"wrote {HERE / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
