"""The runwise CLI on the real example runs (offline W&B runs written by wandb itself).

Run in-process through ``main(argv)``; one test goes through ``python -m runwise``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runwise.cli import EXAMPLES, build_parser, main
from runwise_core.arguments import parse_range, parse_run_at, parse_step
from runwise_core.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
EX = str(EXAMPLES_DIR)
REALDATA = ROOT.parent / "shared" / "realdata"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--dir", EX] if "--dir" not in argv else list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys, *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert err == ""
    return out


def ids(capsys) -> dict[str, str]:
    data = json.loads(ok(capsys, "list", "--format", "json"))
    return {r["name"]: r["id"] for r in data["runs"]}


# -- every command, three formats ------------------------------------------------------------------

COMMANDS = [
    ["list"], ["latest"], ["run", "spiky"], ["keys"], ["keys", "overfit", "-f", "val"], ["live"],
    ["history", "-k", "train/loss"], ["history", "spiky", "-k", "train/loss,val/loss", "--samples", "100"],
    ["stats", "-k", "train/loss,val/loss"], ["stability", "-k", "train/loss"],
    ["compare", "healthy-baseline", "overfit"], ["compare", "healthy-baseline", "overfit", "-f", "val", "-t", "5", "-g", "-d"],
    ["compare", "healthy-baseline@1000", "spiky@1000"], ["config"], ["config", "spiky", "-f", "lr"],
    ["best", "val/loss"], ["best", "val/acc", "--max", "-n", "2"], ["find", "spik"],
]


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_every_command_works_in_every_format(capsys, argv, fmt):
    out = ok(capsys, *argv, "--format", fmt)
    assert out.strip()
    if fmt == "json":
        json.loads(out)
    if fmt == "md":
        assert "|" in out or "```" in out or out.startswith("### ")


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_every_command_honours_max_tokens(capsys, argv):
    from runwise_core.tokens import estimate

    for fmt in ("text", "json"):
        out = ok(capsys, *argv, "--format", fmt, "--max-tokens", "60")
        assert estimate(out) <= 60


# -- facts on the example runs ---------------------------------------------------------------------

def test_list_shows_the_four_examples_newest_first(capsys):
    out = ok(capsys, "list")
    lines = out.splitlines()
    assert lines[0].startswith("id ") and lines[0].endswith("name (4 runs, newest first)")
    assert [line.split()[-1] for line in lines[1:]] == ["healthy-baseline", "spiky", "overfit", "crashed"]
    assert lines[4].split()[1:3] == ["failed", "295"]


def test_list_limit_and_state(capsys):
    data = json.loads(ok(capsys, "list", "-n", "2", "--format", "json"))
    assert data["total"] == 4 and len(data["runs"]) == 2
    data = json.loads(ok(capsys, "list", "--state", "failed", "--format", "json"))
    assert [r["name"] for r in data["runs"]] == ["crashed"]


def test_latest_is_the_healthy_run_with_key_metrics_and_no_anomaly_line(capsys):
    out = ok(capsys, "latest")
    first = out.splitlines()[0]
    assert "healthy-baseline · finished · step 1,995/2,000" in first and "exit 0" in first
    assert "anomal" not in out
    keys = [line.split()[0] for line in out.splitlines()[3:]]
    assert keys == ["train/loss", "val/loss", "val/acc", "train/lr", "train/grad_norm", "perf/samples_per_sec"]


def test_run_spiky_reports_the_spike_and_the_nan(capsys):
    data = json.loads(ok(capsys, "run", "spiky", "--format", "json"))
    if not data["anomalies_checked"]:
        pytest.skip("anomaly detectors not installed")
    found = {(a["kind"], a["metric"], a["step"]) for a in data["anomalies"]}
    assert ("spike", "train/loss", 1200) in found and ("nan", "train/loss", 1750) in found
    text = ok(capsys, "run", "spiky")
    assert "anomalies (" in text
    assert "anomal" not in ok(capsys, "run", "spiky", "--no-anomalies")


def test_run_crashed_is_failed_with_exit_code_1(capsys):
    data = json.loads(ok(capsys, "run", "crashed", "--format", "json"))
    assert (data["state"], data["exit_code"], data["last_step"]) == ("failed", 1, 295)
    assert data["config"]["lr"] == 0.0003 and data["config"]["model.layers"] == 4


def test_keys_lists_every_key_with_counts_and_step_ranges(capsys):
    data = json.loads(ok(capsys, "keys", "healthy-baseline", "--format", "json"))
    got = {k["key"]: (k["count"], k["first_step"], k["last_step"]) for k in data["keys"]}
    assert got == {"perf/samples_per_sec": (400, 0, 1995), "train/grad_norm": (400, 0, 1995),
                   "train/loss": (400, 0, 1995), "train/lr": (400, 0, 1995), "val/acc": (20, 0, 1900),
                   "val/loss": (20, 0, 1900)}


def test_history_has_real_steps_and_shows_the_spike_and_nan(capsys):
    out = ok(capsys, "history", "spiky", "-k", "train/loss,val/loss")
    lines = out.splitlines()
    assert "step,train/loss,val/loss" in lines
    assert "1200,9.5,0.8876" in lines and "1750,NaN," in lines and "1900,0.6519,0.7594" in lines
    assert "non-finite train/loss: 1 point: NaN@1750" in lines


def test_history_step_range(capsys):
    data = json.loads(ok(capsys, "history", "spiky", "-k", "train/loss", "--steps", "1190:1210", "--format", "json"))
    assert data["history"]["train/loss"]["steps"] == [1190, 1195, 1200, 1205, 1210]


def test_stats_are_exact(capsys):
    data = json.loads(ok(capsys, "stats", "spiky", "-k", "train/loss", "--format", "json"))
    st = data["stats"]["train/loss"]
    assert (st["count"], st["max"], st["max_step"], st["nan"], st["inf"]) == (400, 9.5, 1200, 1, 0)


def test_compare_config_diff_and_step_matching(capsys):
    data = json.loads(ok(capsys, "compare", "healthy-baseline", "overfit", "-d", "--format", "json"))
    assert data["config_diff"] == {"dropout": {"a": 0.1, "b": 0.0, "in_a": True, "in_b": True}}
    assert {m["key"] for m in data["metrics"]} >= {"train/loss", "val/loss"}
    data = json.loads(ok(capsys, "compare", "healthy-baseline@1000", "overfit@1003", "-k", "val/loss,train/loss",
                         "--format", "json"))
    by = {m["key"]: m for m in data["metrics"]}
    assert (by["val/loss"]["a_step"], by["val/loss"]["a_exact"]) == (1000, True)
    assert (by["val/loss"]["b_step"], by["val/loss"]["b_exact"]) == (1000, False)
    assert (by["train/loss"]["b_step"], by["train/loss"]["b_exact"]) == (1005, False)


def test_compare_threshold_hides_small_changes(capsys):
    out = ok(capsys, "compare", "healthy-baseline", "spiky", "-t", "50")
    assert "below hidden" in out


def test_best_and_find(capsys):
    data = json.loads(ok(capsys, "best", "val/loss", "--format", "json"))
    assert [r["name"] for r in data["runs"]][0] == "healthy-baseline" and data["higher_is_better"] is False
    data = json.loads(ok(capsys, "find", "overfit", "--format", "json"))
    assert [r["name"] for r in data["runs"]] == ["overfit"]


def test_live_without_a_running_run_shows_the_newest(capsys):
    out = ok(capsys, "live")
    assert "no run is running; showing the newest run" in out
    assert "step 1500: loss" in out  # the console tail


# -- local metric logs -------------------------------------------------------------------------------

@pytest.fixture()
def log_dir(tmp_path: Path) -> Path:
    lines = [json.dumps({"global_step": s, "loss": 2.0 / (1 + s), "val_loss": 2.5 / (1 + s) if s % 5 == 0 else None})
             for s in range(0, 50)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(l.replace(', "val_loss": null', "") for l in lines) + "\n")
    return tmp_path


def test_local_lists_logs_and_reads_one(capsys, log_dir):
    f = str(log_dir / "metrics.jsonl")
    out = ok(capsys, "local", "--dir", str(log_dir))
    assert "metrics.jsonl" in out
    data = json.loads(ok(capsys, "local", f, "--keys", "--dir", str(log_dir), "--format", "json"))
    assert {k["key"]: (k["count"], k["last_step"]) for k in data["keys"]} == {"loss": (50, 49), "val_loss": (10, 45)}
    out = ok(capsys, "local", f, "--history", "-k", "loss", "--dir", str(log_dir))
    assert "49,0.04" in out.splitlines()
    data = json.loads(ok(capsys, "local", f, "--stats", "-k", "loss,val_loss", "--dir", str(log_dir), "--format", "json"))
    assert data["stats"]["val_loss"]["count"] == 10
    assert "run " in ok(capsys, "local", f, "--dir", str(log_dir))


# -- errors -----------------------------------------------------------------------------------------

def test_unknown_run_lists_valid_ids_and_exits_1(capsys):
    code, out, err = run(capsys, "run", "nonexistent")
    assert code == 1 and out == ""
    assert "no run 'nonexistent'" in err and "Traceback" not in err
    assert all(i in err for i in ids(capsys).values())


def test_unknown_key_lists_closest_keys(capsys):
    code, _, err = run(capsys, "history", "-k", "train/los")
    assert code == 1 and "closest keys: train/loss" in err


@pytest.mark.parametrize("argv", [
    ["history", "-k", "train/loss", "--steps", "10"], ["history", "-k", "train/loss", "--samples", "1"],
    ["history", "-k", ","], ["compare", "spiky@abc", "overfit"], ["list", "-n", "0"], ["list", "--max-tokens", "0"],
    ["list", "--format", "xml"], ["frobnicate"], ["history", "-k", "train/loss", "--steps", "500:100"],
])
def test_bad_arguments_exit_1_without_traceback(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 1 and "Traceback" not in err and err.strip()


def test_missing_dir_and_empty_dir(capsys, tmp_path):
    code, _, err = run(capsys, "list", "--dir", str(tmp_path / "nope"))
    assert code == 1 and "no such folder" in err
    out = ok(capsys, "list", "--dir", str(tmp_path))
    assert "no runs found" in out
    code, _, err = run(capsys, "latest", "--dir", str(tmp_path))
    assert code == 1 and "no runs found" in err


@pytest.mark.skipif(not (REALDATA / "lossplateau_wandb024").exists(), reason="realdata not here")
def test_run_without_history_says_why(capsys):
    code, _, err = run(capsys, "history", "apxr0e2p", "--dir", str(REALDATA / "lossplateau_wandb024"))
    assert code == 1 and "no metric history" in err and "exit code 1" in err


def test_no_command_prints_help_and_exits_1(capsys):
    assert main([]) == 1
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_command_has_help_with_examples(name, capsys):
    assert main([name, "--help"]) == 0
    assert "examples:\n  runwise " + name in capsys.readouterr().out


def test_every_subcommand_is_documented_with_examples():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(EXAMPLES)


def test_step_parsing():
    assert parse_step("50000") == parse_step("50k") == parse_step("50_000") == 50_000
    assert parse_step("1.5M") == 1_500_000
    assert parse_run_at("abc@50k") == ("abc", 50_000)
    assert parse_run_at("name@with@at") == ("name@with@at", None)
    assert parse_range(":100") == (None, 100) and parse_range("5:") == (5, None)
    with pytest.raises(UsageError):
        parse_step("x")


def test_python_dash_m_runwise_works():
    proc = subprocess.run([sys.executable, "-m", "runwise", "list", "--dir", EX, "-n", "1"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "healthy-baseline" in proc.stdout


def test_an_unreadable_run_is_reported_and_does_not_hide_the_others(capsys, tmp_path):
    import shutil

    bad = tmp_path / "wandb" / "run-20240101_000000-bad00001"
    bad.mkdir(parents=True)
    (bad / "run-bad00001.wandb").write_bytes(b"not a wandb log at all" * 10)
    healthy = sorted((EXAMPLES_DIR / "wandb").glob("offline-run-*"))[-1]  # written last: healthy-baseline
    shutil.copytree(healthy, tmp_path / "wandb" / healthy.name)
    out = ok(capsys, "list", "--dir", str(tmp_path))
    assert "healthy-baseline" in out
    assert out.splitlines()[-1].startswith("unreadable: bad00001: ")
    code, _, err = run(capsys, "run", "bad00001", "--dir", str(tmp_path))
    assert code == 1 and "Traceback" not in err and "bad00001" in err


def test_no_cache_reads_afresh_and_writes_no_cache(capsys, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RUNWISE_CACHE_DIR", str(cache))
    monkeypatch.delenv("RUNWISE_NO_CACHE", raising=False)
    fresh = ok(capsys, "--no-cache", "run", "spiky")
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))
    assert "RUNWISE_NO_CACHE" not in __import__("os").environ  # set for the command only
    assert ok(capsys, "run", "spiky", "--no-cache") == fresh  # after the command name too
    cached = ok(capsys, "run", "spiky")
    assert cached == fresh and any(p.is_file() for p in cache.rglob("*"))
