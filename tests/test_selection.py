"""Run selection rules shared by the local and the W&B catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwise_core.errors import RunNotFound
from runwise_core.selection import match_run, no_such_run
from runwise_core.sources.base import RunRef

REFS = [RunRef("wandb", i, (Path(i),), 0.0, n) for i, n in
        (("abc12345", "baseline"), ("abd99999", "Baseline-2"), ("xyz00001", "lr-sweep"), ("xyz00002", "lr-sweep"))]


def name(ref: RunRef) -> str:
    return ref.name_hint or ref.id


def test_id_then_unique_prefix_then_name_then_name_ignoring_case():
    assert match_run(REFS, "abd99999", name).id == "abd99999"
    assert match_run(REFS, "abc", name).id == "abc12345"
    assert match_run(REFS, "baseline", name).id == "abc12345"
    assert match_run(REFS, "BASELINE-2", name).id == "abd99999"
    assert match_run(REFS, "nothing", name) is None


def test_ambiguous_prefix_and_name_list_the_candidates():
    with pytest.raises(RunNotFound, match="'ab' matches 2 runs: abc12345, abd99999; give more of the id"):
        match_run(REFS, "ab", name)
    with pytest.raises(RunNotFound, match="2 runs are named 'lr-sweep': xyz00001, xyz00002; use an id"):
        match_run(REFS, "lr-sweep", name)


def test_no_such_run_names_the_closest_and_where_to_look():
    err = no_such_run("baselin", REFS, name, where=" in W&B project t/p", see="runwise list --wandb t/p")
    assert str(err) == ("no run 'baselin' in W&B project t/p. closest: baseline, Baseline-2; "
                        "runs: abc12345, abd99999, xyz00001, xyz00002 (see `runwise list --wandb t/p`)")
