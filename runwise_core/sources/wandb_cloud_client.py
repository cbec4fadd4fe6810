"""The boundary with ``wandb.Api``: credentials, time limits, and every W&B error made ours.

Everything that touches the wandb package for cloud runs goes through here, so that

* ``import wandb`` (0.5-0.8 s) happens only on the cloud path, on first use;
* no call waits much more than :data:`DEFAULT_TIMEOUT_S`: wandb 0.31 sends GraphQL through
  its ``wandb-core`` sidecar, which retries failed requests for a long time by default, so
  :func:`configure_wandb` sets the sidecar's per-request timeout and retry count, and the
  Python side's own wait (``wandb.Api(timeout=...)``) is the backstop;
* wandb never prompts for a key (an MCP server's stdin is the protocol): the key is found
  here first, from ``WANDB_API_KEY`` or the netrc entry ``wandb login`` writes, and given
  to ``wandb.Api`` explicitly;
* every wandb, wandb-core or HTTP failure becomes one :class:`CloudError` line naming the
  fix (``wandb login``, ``WANDB_API_KEY``, ``WANDB_BASE_URL``, ENTITY/PROJECT), converted
  once, in :func:`calling`.

    RunwiseError
    └── CloudError            a W&B request failed (the message says what to do)
        ├── CloudAuthError    no API key, or the server refused it
        ├── CloudUnavailable  server unreachable, too slow, answering 5xx, or not W&B (404)
        └── ProjectNotFound   no such ENTITY/PROJECT (or no access to it)

An unknown run id is a :class:`~runwise_core.errors.RunNotFound`, as for local runs.
"""

from __future__ import annotations

import netrc
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import RunNotFound, RunwiseError

#: The longest one failing call may take, in seconds (the issue's bound is 10 s).
DEFAULT_TIMEOUT_S = 7.0
#: Retries of one GraphQL request inside wandb-core. One is the fewest it takes: it reads 0 as
#: "use the default", which retries for minutes.
DEFAULT_RETRIES = 1
#: The pause wandb-core asks for before a retry, in seconds.
_RETRY_WAIT_S = 0.5
#: What a retry costs besides its attempt: the pause as wandb-core really takes it (about
#: 2 s measured with wandb 0.31, whatever the asked pause).
_RETRY_GAP_S = 2.0
#: W&B cloud, as runwise names it when neither the caller nor ``WANDB_BASE_URL`` names a server
#: (wandb itself then uses its own default, one of :data:`CLOUD_HOSTS`).
FALLBACK_BASE_URL = "https://api.wandb.ai"
#: The W&B cloud API under its names: wandb 0.31 defaults to the CoreWeave Forge one, and
#: ``wandb login`` stores the key in the netrc under whichever the wandb of the day used.
CLOUD_HOSTS = ("api.wandb.ai", "api.forge.coreweave.com")


class CloudError(RunwiseError):
    """A W&B request failed; the message is one line and names the next step."""


class CloudAuthError(CloudError):
    pass


class CloudUnavailable(CloudError):
    pass


class ProjectNotFound(CloudError):
    pass


@dataclass(frozen=True)
class CloudConfig:
    """Where and how to reach W&B. ``base_url`` None means ``WANDB_BASE_URL``, else wandb's
    default (W&B cloud)."""

    base_url: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

    def named_url(self) -> str | None:
        """The server the caller or ``WANDB_BASE_URL`` names, or None (W&B cloud)."""
        url = self.base_url or os.environ.get("WANDB_BASE_URL")
        return url.rstrip("/") if url else None

    def resolved_url(self) -> str:
        """The server, for messages and keys: the named one, else :data:`FALLBACK_BASE_URL`."""
        return self.named_url() or FALLBACK_BASE_URL

    def attempt_timeout_s(self) -> float:
        """Per-attempt HTTP timeout so that all attempts and pauses fit in ``timeout_s``
        (2.5 s each by default: W&B answers typical queries well within that)."""
        attempts = max(self.retries, 1) + 1
        return max(0.5, (self.timeout_s - (attempts - 1) * _RETRY_GAP_S) / attempts)


#: Builds the ``wandb.Api`` for one catalog; tests may pass their own.
ApiFactory = Callable[[CloudConfig, str | None], Any]


def find_api_key(base_url: str) -> str | None:
    """The API key for ``base_url``: ``WANDB_API_KEY``, else the netrc entry for its host
    (``wandb login`` writes one; ``NETRC`` names another file; W&B cloud's key may be under
    any of :data:`CLOUD_HOSTS`). None when there is none."""
    key = os.environ.get("WANDB_API_KEY")
    if key:
        return key.strip()
    host = urlsplit(base_url).netloc
    hosts = [host, *(h for h in CLOUD_HOSTS if h != host)] if host in CLOUD_HOSTS else [host]
    for path in _netrc_paths():
        try:
            entries = netrc.netrc(str(path))
        except (OSError, netrc.NetrcParseError):
            continue  # an unreadable netrc holds no key we can use; the next place may
        for name in hosts:
            entry = entries.authenticators(name)
            if entry and entry[2]:
                return entry[2]
    return None


def _netrc_paths() -> list[Path]:
    if os.environ.get("NETRC"):
        return [Path(os.environ["NETRC"]).expanduser()]
    return [p for p in (Path("~/.netrc").expanduser(), Path("~/_netrc").expanduser()) if p.is_file()]


def configure_wandb(config: CloudConfig) -> None:
    """Bound wandb-core's GraphQL requests: ``attempt_timeout_s`` each, ``retries`` retries.

    These are process-wide wandb settings (``wandb.setup``); runwise sets them in its own
    processes (CLI, MCP server) only. Without them one request to a dead or failing server
    is retried for minutes.
    """
    import wandb

    wandb.setup(settings=wandb.Settings(
        x_graphql_timeout_seconds=config.attempt_timeout_s(),
        x_graphql_retry_max=max(config.retries, 1),
        x_graphql_retry_wait_min_seconds=_RETRY_WAIT_S,
        x_graphql_retry_wait_max_seconds=_RETRY_WAIT_S,
    ))


def make_api(config: CloudConfig, entity: str | None) -> Any:
    """A ``wandb.Api`` for ``config`` (the default :data:`ApiFactory`).

    Fails fast, without prompting, when no key is configured. Creating it checks the key with
    the server (one request), so a refused key is reported here.
    """
    base_url = config.resolved_url()
    identity_file = os.environ.get("WANDB_IDENTITY_TOKEN_FILE")
    key = find_api_key(base_url)
    if key is None and not identity_file:
        host = urlsplit(base_url).netloc or base_url
        login = "`wandb login`" if base_url == FALLBACK_BASE_URL else f"`wandb login --host {base_url}`"
        raise CloudAuthError(f"no W&B API key for {host}: run {login} or set WANDB_API_KEY")
    with calling(config, "connecting"):
        configure_wandb(config)
        import wandb

        overrides: dict[str, Any] = {}
        if config.named_url():
            overrides["base_url"] = config.named_url()  # else wandb's own default: W&B cloud
        if entity:
            overrides["entity"] = entity  # saves wandb a request for the default entity
        # Whole seconds: wandb declares the timeout an int; the backstop sits past the sidecar's own.
        return wandb.Api(overrides=overrides, timeout=int(config.timeout_s) + 2,
                         api_key=None if identity_file and key is None else key)


# -- errors ------------------------------------------------------------------------------------

_TIMEOUT = re.compile(r"deadline exceeded|did not respond in time|timed? ?out|timeout", re.I)
_UNREACHABLE = re.compile(r"connection refused|no such host|dial tcp|network is unreachable|"
                          r"connection reset|name resolution|EOF", re.I)
_AUTH = re.compile(r"not logged in|invalid credentials|did not recognize an account|unauthori[sz]ed|"
                   r"api key|permission denied|HTTP 40[13]\b", re.I)
_STATUS = re.compile(r"HTTP (\d{3})")
_NO_PROJECT = re.compile(r"could not find project", re.I)
_NO_RUN = re.compile(r"could not find run", re.I)


@contextmanager
def calling(config: CloudConfig, what: str, project: str | None = None,
            run_id: str | None = None) -> Iterator[None]:
    """Run wandb calls for ``what`` (e.g. "listing runs"), turning any failure they raise into
    one :class:`CloudError` (or :class:`~runwise_core.errors.RunNotFound`) line.

    Only wandb's own exceptions and the ``ValueError``s its public API raises for unknown
    projects and runs are converted; anything else is a bug and propagates unchanged.
    """
    try:
        yield
    except RunwiseError:
        raise
    except Exception as err:
        converted = convert(err, config, what, project, run_id)
        if converted is None:
            raise
        raise converted from err


def convert(err: BaseException, config: CloudConfig, what: str, project: str | None = None,
            run_id: str | None = None) -> RunwiseError | None:
    """The runwise error for a failure of a wandb call, or None when ``err`` is not one."""
    if not _is_wandb_failure(err):
        return None
    base = config.resolved_url()
    status = _http_status(err)
    text = _message(err)
    where = f"W&B at {base}"
    if _NO_PROJECT.search(text):
        return ProjectNotFound(f"no W&B project '{project}' at {base} (or this key cannot see it); "
                               "check ENTITY/PROJECT (--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)")
    if _NO_RUN.search(text):
        return RunNotFound(f"no run '{run_id}' in W&B project '{project}' at {base}; "
                           "see `runwise list --wandb " + (project or "ENTITY/PROJECT") + "`")
    if status is None:
        match = _STATUS.search(text)
        status = int(match.group(1)) if match else None
    refused = CloudAuthError(f"{where} refused the API key ({_short(text)}); run `wandb login --relogin` "
                             "or set WANDB_API_KEY to a valid key")
    if status in (401, 403):
        return refused
    if status is not None and status >= 500:
        return CloudUnavailable(f"{where} answered HTTP {status} (server error) while {what}; try again later"
                                + ("" if base == FALLBACK_BASE_URL else ", or check the server's logs"))
    if status == 404:  # W&B answers an unknown project with null, not 404: no GraphQL endpoint here
        return CloudUnavailable(f"{where} answered HTTP 404 while {what}: no W&B API there; "
                                "check WANDB_BASE_URL (the address `wandb login --host` takes)")
    if _TIMEOUT.search(text):
        return CloudUnavailable(f"{where} did not answer within {config.timeout_s:g} s while {what}; "
                                "the server is slow or unreachable: try again, or check WANDB_BASE_URL and the network")
    if _UNREACHABLE.search(text):
        return CloudUnavailable(f"cannot reach {where} ({_reason(text)}); check WANDB_BASE_URL and the network")
    if type(err).__name__ == "AuthenticationError" or _AUTH.search(text):
        return refused
    if "no api key" in text.lower():
        return CloudAuthError(f"no W&B API key for {base}: run `wandb login` or set WANDB_API_KEY")
    return CloudError(f"{where} failed while {what}: {_short(text)}")


def _is_wandb_failure(err: BaseException) -> bool:
    """Whether ``err`` comes from wandb (its errors, wandb-core's) or is a ValueError the
    public API raises for a missing project or run."""
    module = type(err).__module__ or ""
    if module.startswith("wandb"):
        return True
    if isinstance(err, ValueError):
        return bool(_NO_PROJECT.search(str(err)) or _NO_RUN.search(str(err)))
    return isinstance(err, (TimeoutError, ConnectionError))


def _http_status(err: BaseException) -> int | None:
    """The HTTP status wandb-core reported, looking through the exception's causes."""
    seen: BaseException | None = err
    for _ in range(6):
        if seen is None:
            break
        response = getattr(seen, "response", None)
        status = getattr(response, "http_status", None)
        if isinstance(status, int) and status:
            return status
        seen = seen.__cause__ or seen.__context__
    return None


def _message(err: BaseException) -> str:
    """The innermost useful message of ``err`` and its causes, joined."""
    parts: list[str] = []
    seen: BaseException | None = err
    for _ in range(6):
        if seen is None:
            break
        text = str(seen).strip()
        if text and text not in parts:
            parts.append(text)
        seen = seen.__cause__ or seen.__context__
    return " | ".join(parts)


def _short(text: str, limit: int = 120) -> str:
    """One line of at most ``limit`` characters from a wandb message."""
    line = " ".join(text.split("|")[-1].split()) if "|" in text else " ".join(text.split())
    line = re.sub(r"^Failed to verify credentials with \S+:\s*", "", line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _reason(text: str) -> str:
    for pattern in ("connection refused", "no such host", "network is unreachable", "connection reset",
                    "name resolution"):
        if pattern in text.lower():
            return pattern
    return _short(text, 60)
