"""Every way reaching W&B can fail gives one clear line, in under 10 s, never a traceback.

Each case runs the real wandb client against the fake endpoint (or a closed port) and checks
the error's type, that its message is one line naming the fix, and the time it took (the
only timed assertion in these tests: a bound against hangs, as the issue asks).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloud_fake import BAD_KEY, GOOD_KEY, FakeWandb, offline_env, standard_project
from runwise_core.cloud_catalog import CloudCatalog
from runwise_core.errors import RunNotFound, RunwiseError
from runwise_core.sources.wandb_cloud_client import (
    CloudAuthError,
    CloudConfig,
    CloudUnavailable,
    ProjectNotFound,
    find_api_key,
)

BOUND_S = 10.0


@pytest.fixture()
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "wandb-state"


def failing(make: type[RunwiseError], action) -> str:
    """Run ``action``; it must raise ``make`` within the bound; returns the message."""
    start = time.monotonic()
    with pytest.raises(make) as err:
        action()
    elapsed = time.monotonic() - start
    assert elapsed < BOUND_S, f"took {elapsed:.1f} s"
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_no_api_key_says_how_to_log_in_without_asking_the_server(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": []}) as fake:
        offline_env(monkeypatch, state_dir, fake.base_url, api_key=None)
        message = failing(CloudAuthError, lambda: CloudCatalog("ent/proj").refs())
        assert fake.requests == []
    host = fake.base_url.split("//")[1]
    assert message == f"no W&B API key for {host}: run `wandb login --host {fake.base_url}` or set WANDB_API_KEY"


def test_a_refused_key_names_wandb_login_and_the_variable(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": []}) as fake:
        offline_env(monkeypatch, state_dir, fake.base_url, api_key=BAD_KEY)
        message = failing(CloudAuthError, lambda: CloudCatalog("ent/proj").refs())
    assert message == (f"W&B at {fake.base_url} refused the API key (user is not logged in); "
                       "run `wandb login --relogin` or set WANDB_API_KEY to a valid key")


def test_an_unknown_project_says_to_check_entity_and_project(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": []}) as fake:
        offline_env(monkeypatch, state_dir, fake.base_url)
        message = failing(ProjectNotFound, lambda: CloudCatalog("ent/nope").refs())
    assert message == (f"no W&B project 'ent/nope' at {fake.base_url} (or this key cannot see it); "
                       "check ENTITY/PROJECT (--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)")


def test_an_unknown_run_id_beyond_the_list_is_a_run_not_found(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": standard_project(time.time())}) as fake:
        offline_env(monkeypatch, state_dir, fake.base_url)
        cat = CloudCatalog("ent/proj", max_runs=2)
        message = failing(RunNotFound, lambda: cat.select("zzz999"))
    assert message == ("no run 'zzz999' in W&B project 'ent/proj' at " + fake.base_url
                       + "; see `runwise list --wandb ent/proj`")


def test_a_server_error_is_reported_with_its_status(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": []}, mode="http500") as fake:
        offline_env(monkeypatch, state_dir, fake.base_url)
        message = failing(CloudUnavailable, lambda: CloudCatalog("ent/proj").refs())
        attempts = fake.operations()
    assert message == (f"W&B at {fake.base_url} answered HTTP 500 (server error) while connecting; "
                       "try again later, or check the server's logs")
    assert attempts == ["Viewer", "Viewer"]  # one retry, then the answer


def test_a_url_that_is_not_a_wandb_server_says_to_check_wandb_base_url(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": []}, mode="http404") as fake:
        offline_env(monkeypatch, state_dir, fake.base_url)
        message = failing(CloudUnavailable, lambda: CloudCatalog("ent/proj").refs())
    assert message == (f"W&B at {fake.base_url} answered HTTP 404 while connecting: no W&B API there; "
                       "check WANDB_BASE_URL (the address `wandb login --host` takes)")


def test_a_server_error_after_connecting_names_what_was_being_read(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": standard_project(time.time())}) as fake:
        offline_env(monkeypatch, state_dir, fake.base_url)
        cat = CloudCatalog("ent/proj")
        ref = cat.select("live")
        fake.mode = "http500"
        message = failing(CloudUnavailable, lambda: cat.load(ref))
    assert message.startswith(f"W&B at {fake.base_url} answered HTTP 500 (server error) while reading run live;")


def test_a_server_that_does_not_answer_times_out_in_under_ten_seconds(monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": []}, mode="slow", delay=60.0) as fake:
        offline_env(monkeypatch, state_dir, fake.base_url)
        message = failing(CloudUnavailable, lambda: CloudCatalog("ent/proj").refs())
    assert message == (f"W&B at {fake.base_url} did not answer within 7 s while connecting; the server is slow "
                       "or unreachable: try again, or check WANDB_BASE_URL and the network")


def test_an_unreachable_server_says_to_check_the_url_and_network(monkeypatch, state_dir) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    offline_env(monkeypatch, state_dir, url)
    message = failing(CloudUnavailable, lambda: CloudCatalog("ent/proj").refs())
    assert message == f"cannot reach W&B at {url} (connection refused); check WANDB_BASE_URL and the network"


def test_the_key_is_found_in_the_netrc_wandb_login_writes(monkeypatch, state_dir, tmp_path) -> None:
    with FakeWandb({"ent/proj": standard_project(time.time())}) as fake:
        offline_env(monkeypatch, state_dir, fake.base_url, api_key=None)
        netrc = tmp_path / "netrc"
        host = fake.base_url.split("//")[1]
        netrc.write_text(f"machine {host}\n  login user\n  password {GOOD_KEY}\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        assert find_api_key(fake.base_url) == GOOD_KEY
        assert len(CloudCatalog("ent/proj").refs()) == 9
        assert {r["auth"] for r in fake.requests} == {"Basic " + __import__("base64").b64encode(
            f"api:{GOOD_KEY}".encode()).decode()}


def test_a_cloud_key_is_found_under_either_name_of_the_cloud_api(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine api.forge.coreweave.com\n  login user\n  password {GOOD_KEY}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert find_api_key("https://api.wandb.ai") == GOOD_KEY
    assert find_api_key("https://api.forge.coreweave.com") == GOOD_KEY
    assert find_api_key("https://wandb.mycompany.internal") is None  # a self-hosted server's key is its own


def test_base_url_comes_from_the_argument_then_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.com/")
    assert CloudConfig().resolved_url() == "https://wandb.example.com"
    assert CloudConfig(base_url="http://10.0.0.5:8080").resolved_url() == "http://10.0.0.5:8080"
    monkeypatch.delenv("WANDB_BASE_URL")
    assert CloudConfig().resolved_url() == "https://api.wandb.ai"
    assert CloudConfig().named_url() is None  # wandb.Api then uses its own default
    # All attempts and the pauses between them fit in the call's time limit.
    assert CloudConfig().attempt_timeout_s() == 2.5
    assert CloudConfig(timeout_s=12.0, retries=2).attempt_timeout_s() == 8 / 3


def test_importing_the_cloud_catalog_does_not_import_wandb() -> None:
    code = "import sys, runwise_core.cloud_catalog, runwise_core.sources.wandb_cloud; print('wandb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


QUIET_SCRIPT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from cloud_fake import BAD_KEY, FakeWandb, standard_project
from runwise_core.cloud_catalog import CloudCatalog
from runwise_core.errors import RunwiseError
with FakeWandb({"ent/proj": standard_project(time.time())}) as fake:
    os.environ["WANDB_BASE_URL"] = fake.base_url
    cat = CloudCatalog("ent/proj")
    cat.runs(3)
    cat.load(cat.select("long"), exact=True)
    os.environ["WANDB_API_KEY"] = BAD_KEY
    try:
        CloudCatalog("ent/proj").refs()
    except RunwiseError:
        pass
"""


def test_the_cloud_path_prints_nothing_on_success_or_failure(tmp_path) -> None:
    """An MCP server's stdout is the protocol: neither runwise nor wandb may write to it."""
    tests = Path(__file__).resolve().parent
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_API_KEY=GOOD_KEY, WANDB_DIR=str(tmp_path), WANDB_CACHE_DIR=str(tmp_path / "cache"),
               WANDB_CONFIG_DIR=str(tmp_path / "config"), NETRC=str(tmp_path / "none"),
               RUNWISE_CACHE_DIR=str(tmp_path / "runwise-cache"),
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1",
               PYTHONPATH=str(tests.parent))
    out = subprocess.run([sys.executable, "-c", QUIET_SCRIPT, str(tests)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
