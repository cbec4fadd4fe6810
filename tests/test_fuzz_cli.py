"""The CLI with generated arguments: every command line a user can type ends in output (exit 0)
or one message on stderr (exit 1), never a traceback."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwise import cli
from test_fuzz_support import fuzz_settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

FUZZ = fuzz_settings(150)

numbers = st.sampled_from(["0", "-1", "1", "2", "10", "1000", "9" * 30, "9" * 400, "1.5", "1e9", "nan", "", "x"])
steps = st.sampled_from(["0:100", ":", "100:", ":100", "50k:1M", "5:1", "1.5M:", "9" * 400 + ":", ":" + "9" * 30,
                         "a:b", "1:2:3", "-5:", "", "1_000:2,000"])
words = st.sampled_from(["latest", "y46m28q0", "y46", "healthy-baseline", "nope", "", "loss", "train/*", "val",
                         "y46m28q0@50k", "y46m28q0@" + "9" * 400, "@", "x@y@z", "\u202e", "*", "a,b,,c"])


@st.composite
def argvs(draw) -> list[str]:
    cmd = draw(st.sampled_from(["list", "latest", "run", "keys", "live", "history", "stats", "stability", "compare",
                                "config", "best", "find", "local"]))
    argv = [cmd]
    positional = {"run": 1, "compare": 2, "best": 1, "find": 1}.get(cmd, draw(st.integers(0, 1)))
    argv += [draw(words) for _ in range(positional)]
    options = {"-n": numbers, "--limit": numbers, "--samples": numbers, "--window": numbers, "--steps": steps,
               "-k": words, "-f": words, "-t": numbers, "--max-tokens": numbers, "--format": st.sampled_from(
                   ["text", "md", "json", "xml"]), "--state": st.sampled_from(["running", "finished", "exploded"])}
    for _ in range(draw(st.integers(0, 3))):
        opt = draw(st.sampled_from(sorted(options)))
        argv += [opt, draw(options[opt])]
    for flag in ("--no-anomalies", "-g", "-d", "--max", "--keys", "--stats"):
        if draw(st.integers(0, 9)) == 0:
            argv.append(flag)
    return argv


@pytest.fixture(scope="module", autouse=True)
def cache_outside(tmp_path_factory):
    old = os.environ.get("RUNWISE_CACHE_DIR")
    os.environ["RUNWISE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("RUNWISE_CACHE_DIR", None)
    else:
        os.environ["RUNWISE_CACHE_DIR"] = old


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main([*argv, "--dir", str(EXAMPLES)])
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(argv=argvs())
def test_any_command_line_ends_in_output_or_one_message(argv):
    code, out, err = run_cli(argv)
    assert code in (0, 1), (argv, code, err)
    assert "Traceback" not in err
    if code == 1:
        assert out == "" and err.strip(), (argv, out)


@pytest.mark.parametrize("argv", [["history", "--steps", "9" * 400 + ":"], ["compare", "y46m28q0", "y46m28q0@" + "9" * 400],
                                  ["stats", "--steps", ":" + "9" * 400]])
def test_steps_beyond_any_run_are_a_usage_error(argv):
    code, out, err = run_cli(argv)
    assert code == 1 and out == "" and err.startswith("runwise: ") and "Traceback" not in err, err


def test_output_that_the_terminal_cannot_encode_is_replaced_not_a_traceback(tmp_path):
    """A JSON key may hold lone surrogates (``"\\ud800"`` is valid JSON, not valid Unicode), and a
    terminal may not be UTF-8 (sparklines, arrows): the text is printed with replacements."""
    import subprocess
    import sys

    (tmp_path / "m.jsonl").write_text('{"step": 0, "loss": 1.0, "\\udcff\\ud800x": 2.0}\n'
                                      '{"step": 1, "loss": 0.5, "\\udcff\\ud800x": 3.0}\n')
    cases = [({}, ["keys", "--dir", str(tmp_path)]), ({"PYTHONIOENCODING": "ascii"}, ["list", "--dir", str(EXAMPLES)])]
    for extra, argv in cases:
        env = {**os.environ, "RUNWISE_CACHE_DIR": str(tmp_path / "cache"), **extra}
        done = subprocess.run([sys.executable, "-m", "runwise", *argv], capture_output=True, timeout=60, env=env)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, (argv, done.stderr[-1500:])
        assert b"?" in done.stdout
