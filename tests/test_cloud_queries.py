"""The fake W&B server answers exactly the GraphQL the installed wandb client sends.

The query texts in ``tests/data/cloud/queries/`` were recorded from the client's own
requests; the fake refuses any query that differs from its recording, so every cloud test
checks it. This test drives every operation runwise uses and checks that each recorded query
is still sent. After a wandb upgrade changes them, record them again:

    RUNWISE_RECORD_CLOUD_QUERIES=1 python -m pytest tests/test_cloud_queries.py

and read the diff: a changed query may need a changed answer in ``tests/cloud_fake.py``.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from cloud_fake import GOOD_KEY, QUERIES_DIR, FakeWandb, exported_run, offline_env, recorded_queries, standard_project
from runwise_core.cloud_catalog import CloudCatalog

RECORD = os.environ.get("RUNWISE_RECORD_CLOUD_QUERIES") == "1"


def workload(base_url: str) -> None:
    """Every kind of request runwise makes: list (paged), load (sampled, one key alone),
    exact scans (live history; parquet export plus live tail), default entity."""
    cat = CloudCatalog("ent/proj", page_size=4, samples=100)
    cat.refs()
    cat.load(cat.select("long"))
    cat.load(cat.select("live"), exact=True)
    other = CloudCatalog("other", exact=True)  # no entity: the key's default entity ("ent" here)
    other.load(other.select("exported"))


def test_the_client_sends_exactly_the_recorded_queries(monkeypatch, tmp_path_factory) -> None:
    if RECORD:
        shutil.rmtree(QUERIES_DIR, ignore_errors=True)
    projects = {"ent/proj": standard_project(time.time()), "tester/other": [exported_run()]}
    with FakeWandb(projects, record_dir=QUERIES_DIR if RECORD else None) as fake:
        offline_env(monkeypatch, tmp_path_factory.getbasetemp() / "wandb-state", fake.base_url)
        workload(fake.base_url)
        sent = fake.operations()
        assert fake.unrecorded == []
    recorded = recorded_queries()
    assert set(sent) == set(recorded), "an operation was recorded but not sent, or sent but not recorded"
    assert sorted(recorded) == ["GetDefaultEntity", "HistoryPage", "Run", "RunFullHistory", "RunHistoryKeys",
                                "RunParquetHistory", "RunSampledHistory", "Runs", "Viewer"]


@pytest.mark.skipif(RECORD, reason="recording")
def test_a_query_that_differs_from_its_recording_is_refused() -> None:
    import base64
    import json
    import urllib.error
    import urllib.request

    with FakeWandb({}) as fake:
        body = json.dumps({"query": "query Viewer { viewer { id } }", "operationName": "Viewer"}).encode()
        auth = "Basic " + base64.b64encode(f"api:{GOOD_KEY}".encode()).decode()
        req = urllib.request.Request(fake.base_url + "/graphql", body, {"Authorization": auth})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 400
        assert fake.unrecorded == ["Viewer"]
