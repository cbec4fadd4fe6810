"""The real runs in ../shared/realdata: the anomalies its README names, and silence on healthy runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "anomalies"
sys.path.insert(0, str(BENCH))

from realdata import DEFAULT_DIR, EXPECTATIONS, evaluate  # noqa: E402

pytestmark = pytest.mark.skipif(not DEFAULT_DIR.is_dir(), reason="realdata corpus not present")


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list]:
    by_folder: dict[str, list] = {}
    for o in evaluate(DEFAULT_DIR):
        by_folder.setdefault(f"{o.exp.folder}/{o.exp.run}", []).append(o)
    return by_folder


@pytest.mark.parametrize("exp", EXPECTATIONS, ids=lambda e: f"{e.folder}/{e.run}")
def test_realdata_run_matches_its_readme(exp, outcomes) -> None:
    for o in outcomes[f"{exp.folder}/{exp.run}"]:
        assert o.run_id is not None, f"{exp.folder}: no run read"
        assert o.ok, (o.run_id, o.problems, [a.message for a in o.found])


def test_cpt_overfitting_is_at_the_best_eval_step(outcomes) -> None:
    (o,) = outcomes["cpt_seq2seq_trainer_state/"]
    assert [(a.kind, a.metric, a.step) for a in o.found] == [("overfitting", "eval_loss", 3294)]


def test_t2wihhdg_plateau_names_chance(outcomes) -> None:
    (o,) = outcomes["aorvieto_vst_wandb014/t2wihhdg"]
    assert [a.kind for a in o.found] == ["plateau"]
    assert "near ln 2 = 0.6931" in o.found[0].message
