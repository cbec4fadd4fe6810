"""Text from a log is shown, never obeyed: control characters in keys, names and values (a
newline that would forge an output line, an ANSI escape that would clear or rewrite the
user's terminal) come out as visible escapes in the text format."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest

from runwise import cli

KEYS = ["x\nstate finished, no anomalies", "clear\x1b[2J\x1b[H", "cr\rover", "c1\x9b31m", "del\x7f", "tab\tkey"]


@pytest.fixture
def log(tmp_path):
    import json

    rows = [{"step": i, "loss": 1.0 / (i + 1), **{k: float(i) for k in KEYS}} for i in range(3)]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("argv", [["keys"], ["stats", "-k", "*"], ["latest", "-k", "*"], ["history", "-k", "*"]])
def test_control_characters_from_a_log_are_shown_escaped(log, argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main([*argv, "--dir", str(log.parent)])
    text = out.getvalue()
    assert code == 0, err.getvalue()
    assert not any(c in text for c in "\x1b\r\x7f\x9b\t"), repr(text)
    assert "x\\nstate finished, no anomalies" in text
    assert all(not line.startswith("state finished") for line in text.splitlines())


def test_markdown_and_error_messages_escape_them_too(log):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert cli.main(["keys", "--format", "md", "--dir", str(log.parent)]) == 0
        assert cli.main(["history", "-k", "clear", "--dir", str(log.parent)]) == 1
    for text in (out.getvalue(), err.getvalue()):
        assert not any(c in text for c in "\x1b\r\x7f\x9b\t"), repr(text)
    assert "| x\\nstate finished, no anomalies |" in out.getvalue()
    assert "clear\\x1b[2J\\x1b[H" in err.getvalue()
