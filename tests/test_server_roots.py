"""Path confinement (``runwise_core.roots``): what a server may read, decided on real paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runwise_core.errors import PathNotAllowed, UsageError
from runwise_core.roots import Roots


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/runs/{a.jsonl, sub/b.jsonl}, tmp/runs-old/c.jsonl, tmp/secret.txt."""
    (tmp_path / "runs" / "sub").mkdir(parents=True)
    (tmp_path / "runs-old").mkdir()
    for p in ("runs/a.jsonl", "runs/sub/b.jsonl", "runs-old/c.jsonl", "secret.txt"):
        (tmp_path / p).write_text("{}\n")
    return tmp_path.resolve()


def test_paths_inside_are_returned_resolved(tree):
    roots = Roots.of([tree / "runs"])
    assert roots.confine("a.jsonl") == tree / "runs" / "a.jsonl"
    assert roots.confine("sub/../a.jsonl") == tree / "runs" / "a.jsonl"
    assert roots.confine(str(tree / "runs" / "sub" / "b.jsonl")) == tree / "runs" / "sub" / "b.jsonl"
    assert roots.confine(".") == tree / "runs"


def test_dotdot_out_is_refused(tree):
    roots = Roots.of([tree / "runs"])
    with pytest.raises(PathNotAllowed, match=r"^\.\./secret\.txt resolves to .*secret\.txt, outside the folders"):
        roots.confine("../secret.txt")


def test_a_sibling_sharing_the_prefix_is_outside(tree):
    roots = Roots.of([tree / "runs"])
    with pytest.raises(PathNotAllowed):
        roots.confine(str(tree / "runs-old" / "c.jsonl"))
    with pytest.raises(PathNotAllowed):
        roots.confine("../runs-old/c.jsonl")


def test_absolute_paths_elsewhere_are_refused(tree):
    roots = Roots.of([tree / "runs"])
    for path in ("/etc/passwd", "/", str(tree)):
        with pytest.raises(PathNotAllowed):
            roots.confine(path)


def test_symlinks_are_judged_by_their_target(tree):
    runs = tree / "runs"
    (runs / "out.txt").symlink_to(tree / "secret.txt")
    (runs / "outdir").symlink_to(tree / "runs-old")
    (runs / "in.jsonl").symlink_to(runs / "sub" / "b.jsonl")
    roots = Roots.of([runs])
    with pytest.raises(PathNotAllowed, match="secret.txt"):
        roots.confine("out.txt")
    with pytest.raises(PathNotAllowed):
        roots.confine("outdir/c.jsonl")
    assert roots.confine("in.jsonl") == runs / "sub" / "b.jsonl"


def test_a_root_given_through_a_symlink_is_resolved(tree):
    (tree / "link-to-runs").symlink_to(tree / "runs")
    roots = Roots.of([tree / "link-to-runs"])
    assert roots.paths == (tree / "runs",)
    assert roots.confine(str(tree / "link-to-runs" / "a.jsonl")) == tree / "runs" / "a.jsonl"


def test_relative_paths_try_each_root_in_order(tree):
    roots = Roots.of([tree / "runs", tree / "runs-old"])
    assert roots.confine("c.jsonl") == tree / "runs-old" / "c.jsonl"
    assert roots.confine("a.jsonl") == tree / "runs" / "a.jsonl"
    # missing everywhere: the first root's candidate, for the reader to report
    assert roots.confine("nope.jsonl") == tree / "runs" / "nope.jsonl"


def test_unusable_paths_are_refused(tree):
    roots = Roots.of([tree / "runs"])
    for path in ("", "   ", "a\x00.jsonl"):
        with pytest.raises(PathNotAllowed, match="not a usable path"):
            roots.confine(path)


def test_choose_prefers_flags_then_env_then_cwd(tree):
    runs, old = str(tree / "runs"), str(tree / "runs-old")
    assert Roots.choose([old], runs).paths == (tree / "runs-old",)
    assert Roots.choose(None, f"{runs}{os.pathsep}{os.pathsep}{old}").paths == (tree / "runs", tree / "runs-old")
    assert Roots.choose([], "", cwd=tree / "runs").paths == (tree / "runs",)
    assert Roots.choose(None, None, cwd=tree).paths == (tree,)


def test_relative_roots_resolve_against_cwd_and_duplicates_fold(tree):
    assert Roots.of(["runs", "./runs", "runs/sub/.."], cwd=tree).paths == (tree / "runs",)


def test_missing_root_is_a_usage_error(tree):
    with pytest.raises(UsageError, match=r"root '.*nowhere' is not a folder"):
        Roots.of([tree / "nowhere"])
    with pytest.raises(UsageError, match="is not a folder"):
        Roots.of([tree / "secret.txt"])
    with pytest.raises(UsageError, match="no root folder given"):
        Roots.of([])
