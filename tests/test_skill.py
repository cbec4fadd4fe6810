"""skills/runwise/SKILL.md shows real commands with real output: run every one of them.

Each ```bash block's commands run against the example runs (a ``logs/metrics.jsonl`` is
written for the local-log commands); where an output block follows, the output must match it
exactly, so the skill never teaches stale output.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from runwise.cli import main

ROOT = Path(__file__).resolve().parents[1]
SKILL = ROOT / "skills" / "runwise" / "SKILL.md"
EXAMPLES = ROOT / "examples"
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def shown_commands() -> list[tuple[str, str | None]]:
    """(command, the output block that follows it or None), for every bash block."""
    text = SKILL.read_text(encoding="utf-8")
    blocks = [(m.group(1), m.group(2), m.end()) for m in FENCE.finditer(text)]
    out: list[tuple[str, str | None]] = []
    for i, (lang, body, end) in enumerate(blocks):
        if lang != "bash":
            continue
        cmds = [line.strip() for line in body.splitlines() if line.strip().startswith("runwise ")]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        follows = nxt is not None and nxt[0] == "" and text[end:end + 2] == "\n`"
        for j, cmd in enumerate(cmds):
            out.append((cmd, nxt[1] if follows and len(cmds) == 1 else None))
    return out


COMMANDS = shown_commands()


def test_skill_has_front_matter_and_shows_every_zoom_level():
    text = SKILL.read_text(encoding="utf-8")
    assert text.startswith("---\nname: runwise\ndescription: ")
    shown = {c.split()[1] for c, _ in COMMANDS}
    assert {"list", "run", "keys", "stats", "history", "compare", "live", "local"} <= shown
    assert sum(1 for _, out in COMMANDS if out) >= 6


@pytest.mark.parametrize("cmd,expected", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_every_command_in_the_skill_runs_and_shows_real_output(cmd, expected, tmp_path, monkeypatch, capsys):
    argv = shlex.split(cmd)[1:]
    if argv[0] == "local":
        logs = tmp_path / "logs"
        logs.mkdir()
        rows = [{"step": s, "loss": 2.0 / (1 + s)} for s in range(100)]
        (logs / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        monkeypatch.chdir(tmp_path)
        argv += ["--dir", str(tmp_path)]
    else:
        argv += ["--dir", str(EXAMPLES)]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip()
    if expected is not None:
        assert out == expected
