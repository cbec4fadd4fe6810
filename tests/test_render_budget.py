"""--max-tokens is never exceeded, by the core's estimate nor by the real ruler.

The estimator (runwise_core.tokens) must over-count the real tokenizer on everything runwise
prints; trimmed output must say what it left out. The real ruler is the Claude tokenizer file
in ../shared/tools, read with ``tokenizers`` (the test extra); without it those checks skip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_views import NOW, make_run

from runwise_core import views
from runwise_core.model import Series
from runwise_core.render import render
from runwise_core.tokens import estimate

RULER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "claude-tokenizer.json"


@pytest.fixture(scope="module")
def ruler():
    if not RULER.exists():
        pytest.skip("the token ruler (../shared/tools) is not here")
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(RULER))
    return lambda text: len(tok.encode(text).ids)


def _results():
    runs = [make_run(f"r{i:07d}x", f"run-{i}", non_scalar={"img": "image"}) for i in range(12)]
    big = make_run("bigrun01", metrics={
        "loss": Series(np.arange(200_000, dtype=np.int64), np.r_[np.linspace(3, 1, 100_000), np.full(100_000, np.nan)]),
        "val/loss": Series(np.arange(0, 200_000, 1000, dtype=np.int64), np.linspace(3, 1, 200))})
    wide = make_run("widerun1", metrics={f"group{j % 3}/metric_{j}": Series.from_lists(range(50), np.arange(50) * j)
                                         for j in range(40)})
    return [
        views.list_view(runs, now=NOW),
        views.run_view(runs[0], anomalies=False, now=NOW),
        views.keys_view(wide),
        views.stats_view(wide, ["*"]),
        views.stability_view(wide, ["*"]),
        views.history_view(big, ["loss", "val/loss"]),
        views.history_view(runs[0], ["train/loss"], samples=1000),
        views.compare_view(wide, wide, config=True, group=True, now=NOW),
        views.config_view(make_run(config={f"k{i}": i for i in range(100)})),
        views.best_view(runs, "val/loss", now=NOW),
        views.find_view(runs, "run", now=NOW),
        views.live_view(runs[0], now=NOW),
    ]


RESULTS = _results()
BUDGETS = (15, 40, 80, 150, 300, 600)


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
@pytest.mark.parametrize("index", range(len(RESULTS)))
def test_estimate_never_exceeds_the_budget(index, fmt):
    for budget in BUDGETS:
        out = render(RESULTS[index], fmt, max_tokens=budget)
        assert estimate(out) <= budget, (budget, out)


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
@pytest.mark.parametrize("index", range(len(RESULTS)))
def test_real_ruler_never_exceeds_the_budget_and_estimate_over_counts(index, fmt, ruler):
    full = render(RESULTS[index], fmt)
    assert estimate(full) >= ruler(full)
    for budget in BUDGETS:
        out = render(RESULTS[index], fmt, max_tokens=budget)
        assert ruler(out) <= budget


def test_trimmed_text_says_what_it_left_out_and_how_to_get_it():
    out = render(RESULTS[2], "text", max_tokens=150)
    last = out.splitlines()[-1]
    assert last.startswith("… left out ") and " of 40 keys" in last and "--max-tokens" in last
    assert out.splitlines()[0].startswith("keys of widerun1")


def test_trimmed_json_says_what_it_left_out():
    import json

    data = json.loads(render(RESULTS[2], "json", max_tokens=300))
    assert data["truncated"]["left_out"]["keys"] > 0 and data["truncated"]["hint"]


def test_history_over_budget_is_coarsened_not_cut():
    out = render(RESULTS[5], "text", max_tokens=600)
    lines = out.splitlines()
    assert "downsampled to rows of" in lines[0]
    assert lines[-1].startswith("190000,") or lines[-1].startswith("1")  # the range still reaches the end
    steps = [int(line.split(",")[0]) for line in lines if line[:1].isdigit()]
    assert steps[0] == 0 and steps[-1] >= 100_000


def test_estimate_over_counts_hard_text(ruler):
    rng = np.random.default_rng(0)
    samples = [
        "kj3gdsjx 5pppfjv9 t2wihhdg apxr0e2p " * 20,
        " ".join(str(x) for x in rng.integers(0, 10**9, 300)),
        "▁▂▃▄▅▆▇█ ↓ ↑ → ~ × · –" * 30,
        "train/loss,val/loss\n" + "\n".join(f"{i},{v:.4g},{v * 2:.4g}" for i, v in enumerate(rng.random(500))),
    ]
    for text in samples:
        assert estimate(text) >= ruler(text)


def test_measured_glyph_and_word_costs_hold_in_the_ruler(ruler):
    from runwise_core.tokens import _GLYPHS, COMMON_WORDS

    for ch, (alone, spaced) in _GLYPHS.items():
        assert ruler(ch) <= alone and ruler(" " + ch) <= spaced, ch
    for word in COMMON_WORDS:
        assert ruler(word) == 1 and ruler(" " + word) == 1, word
