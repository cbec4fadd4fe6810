"""How a W&B project and a run in it are named on a command line (``--wandb ENTITY/PROJECT``,
``ENTITY/PROJECT/RUN_ID``, a run URL).

Apart from :mod:`.cloud_catalog` so that a front end can tell a cloud selector from a local
one without importing the W&B client machinery: a command on local runs never pays for it.
"""

from __future__ import annotations

import re

from .errors import UsageError

#: The environment variable naming the W&B project front ends read (``--wandb`` overrides it).
PROJECT_ENV = "RUNWISE_WANDB_PROJECT"

_PROJECT = re.compile(r"^[\w.\-]+(/[\w.\-]+)?$")
_RUN_URL = re.compile(r"(?:^|/)(?P<entity>[\w.\-]+)/(?P<project>[\w.\-]+)/(?:runs/)?(?P<id>[\w\-]+)/?$")


def parse_project(project: str) -> tuple[str | None, str]:
    """``ENTITY/PROJECT`` (or ``PROJECT``, for the key's default entity) split in two."""
    text = (project or "").strip().strip("/")
    if not _PROJECT.match(text):
        raise UsageError(f"W&B project {project!r}: expected ENTITY/PROJECT, e.g. my-team/my-project "
                         "(--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)")
    entity, _, name = text.rpartition("/")
    return (entity or None), name


def parse_cloud_selector(text: str) -> tuple[str, str] | None:
    """``ENTITY/PROJECT/RUN_ID`` or a W&B run URL as ``("ENTITY/PROJECT", RUN_ID)``; None for
    anything else (a local selector: an id, a prefix, a name, ``latest``). Lets ``compare``
    take one cloud run and one local run. Three slash-separated names are read as a cloud
    run, so a local selector never has two slashes."""
    text = text.strip()
    if text.count("/") < 2:
        return None
    match = _RUN_URL.search(text.split("?")[0].split("#")[0])
    if not match:
        return None
    return f"{match['entity']}/{match['project']}", match["id"]
