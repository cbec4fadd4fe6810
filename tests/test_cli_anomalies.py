"""`runwise anomalies`: findings, an explicit 'none found', key errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from runwise.cli import main

EXAMPLES = str(Path(__file__).resolve().parents[1] / "examples")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--dir", EXAMPLES])
    out, err = capsys.readouterr()
    return code, out, err


def test_findings_and_none_found(capsys):
    code, out, _ = run_cli(capsys, "anomalies", "spiky")
    assert code == 0
    assert out.splitlines()[0] == "anomalies of lrh7m672 spiky: 2 found in 6 keys"
    code, out, _ = run_cli(capsys, "anomalies", "healthy-baseline", "-k", "train/*")
    assert code == 0
    assert out == "anomalies of y46m28q0 healthy-baseline: none found in 3 keys (every point, up to step 1,995)\n"


def test_json_lists_keys_checked_and_kinds(capsys):
    code, out, _ = run_cli(capsys, "anomalies", "overfit", "--format", "json")
    data = json.loads(out)
    assert code == 0 and [a["kind"] for a in data["anomalies"]] == ["overfitting", "overfitting"]
    assert [a["metric"] for a in data["anomalies"]] == ["val/loss", "val/acc"]


def test_unknown_key_exits_1_with_the_closest_keys(capsys):
    code, out, err = run_cli(capsys, "anomalies", "spiky", "-k", "train/los")
    assert code == 1 and out == ""
    assert "train/loss" in err and "Traceback" not in err
