"""The anomaly-only view: findings over every key, and an explicit 'none found' when healthy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runwise_core import views
from runwise_core.catalog import Catalog
from runwise_core.errors import KeyNotFound
from runwise_core.render import render

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def catalog():
    return Catalog([EXAMPLES], cache=None)


def test_findings_of_the_spiky_example_in_every_format(catalog):
    report = views.anomalies_view(catalog.load(catalog.select("spiky")))
    assert [(a.kind, a.metric, a.step) for a in report.anomalies] == [("spike", "train/loss", 1200),
                                                                       ("nan", "train/loss", 1750)]
    text = render(report, "text").splitlines()
    assert text[0] == "anomalies of lrh7m672 spiky: 2 found in 6 keys"
    assert text[1].split()[:2] == ["spike", "train/loss"] and text[2].split()[:2] == ["nan", "train/loss"]
    data = json.loads(render(report, "json"))
    assert data["keys_checked"] == ["perf/samples_per_sec", "train/grad_norm", "train/loss", "train/lr",
                                    "val/acc", "val/loss"]
    assert [a["kind"] for a in data["anomalies"]] == ["spike", "nan"]


def test_a_healthy_run_says_none_found_over_how_many_keys(catalog):
    report = views.anomalies_view(catalog.load(catalog.select("healthy-baseline")))
    assert report.anomalies == ()
    assert render(report, "text") == ("anomalies of y46m28q0 healthy-baseline: none found in 6 keys "
                                      "(every point, up to step 1,995)\n")


def test_keys_narrow_the_check_and_unknown_keys_name_the_closest(catalog):
    run = catalog.load(catalog.select("spiky"))
    assert views.anomalies_view(run, ["val/*"]).anomalies == ()
    assert views.anomalies_view(run, ["val/*"]).keys_checked == ("val/acc", "val/loss")
    with pytest.raises(KeyNotFound, match="train/loss"):
        views.anomalies_view(run, ["train/los"])


def test_run_summary_with_glob_keys_checks_the_keys_they_match(catalog):
    run = catalog.load(catalog.select("spiky"))
    summary = views.run_view(run, ["train/*"])
    assert [(a.kind, a.step) for a in summary.anomalies] == [("spike", 1200), ("nan", 1750)]
