"""The bundled example runs are real W&B runs in the states they claim, small, and the demo
walks the zoom levels on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runwise_core.catalog import Catalog
from runwise_core.model import RunState

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_examples_are_small():
    size = sum(p.stat().st_size for p in (EXAMPLES / "wandb").rglob("*") if p.is_file())
    assert size < 1_000_000


def test_examples_are_four_real_wandb_runs_in_their_states():
    cat = Catalog([EXAMPLES])
    runs = {r.name: r for r in cat.runs()}
    assert set(runs) == {"healthy-baseline", "spiky", "overfit", "crashed"}
    assert all(r.source == "wandb" for r in runs.values())
    assert runs["crashed"].state() is RunState.FAILED and runs["crashed"].exit_code == 1
    assert runs["crashed"].last_step == 295
    for name in ("healthy-baseline", "spiky", "overfit"):
        assert runs[name].state() is RunState.FINISHED and runs[name].last_step == 1995
    assert len(runs["overfit"].metrics["val/loss"]) == 20  # sparse validation
    assert cat.runs()[0].name == "healthy-baseline"  # newest: what `runwise latest` shows


def test_demo_walks_the_zoom_levels_with_token_counts():
    proc = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    for cmd in ("$ runwise list", "$ runwise latest", "$ runwise keys spiky", "$ runwise history spiky",
                "$ runwise stats spiky", "$ runwise compare healthy-baseline overfit"):
        assert cmd in proc.stdout
    assert proc.stdout.count(" tokens]") == 8


def test_demo_counts_with_the_core_estimate_without_the_shared_ruler(monkeypatch):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import demo
    finally:
        sys.path.remove(str(EXAMPLES))
    monkeypatch.setattr(demo, "RULER", Path("/nonexistent/claude-tokenizer.json"))
    count, how = demo.counter()
    from runwise_core.tokens import estimate

    assert "estimate" in how and count("train/loss 0.5") == estimate("train/loss 0.5")
