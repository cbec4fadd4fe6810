"""The small side files of a W&B run folder: summary, config, metadata, console log.

Each reader returns None or an empty value for a missing file, and records a one-line note
for a damaged one: side files are never worth failing a run over.
"""

from __future__ import annotations

import json
import os
import stat
from collections import deque
from pathlib import Path
from typing import Any

from .columns import flatten

MAX_SIDE_FILE = 64 * 1024 * 1024  # a summary or config larger than this is not read


def inside_run_folder(path: Path) -> bool:
    """Whether ``path`` (a file in a run folder or its ``files/``) resolves inside that run
    folder. A symlink out of it is not followed: the catalog vetted the folder, not where
    its links lead, and the MCP server must not be walked out of its roots by one."""
    folder = path.parent.parent if path.parent.name == "files" else path.parent
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def regular_file(path: Path, notes: list[str] | None) -> bool:
    """Whether ``path`` may be read: False for a missing file, and (with a note) for a named
    pipe or a device, whose read would block or never end (a link to /dev/zero), and for a
    link that leads out of the run folder."""
    if os.path.islink(path) or os.path.islink(path.parent):
        if not inside_run_folder(path):
            if notes is not None and os.path.lexists(path):
                notes.append(f"{path.name} links outside the run folder; not read")
            return False
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    except OSError:
        return True  # the read itself reports why it fails
    if stat.S_ISREG(mode):
        return True
    if notes is not None:
        notes.append(f"{path.name} is not a regular file (a pipe or a device); not read")
    return False


def read_json_object(path: Path, notes: list[str]) -> dict[str, Any] | None:
    """A JSON object file, or None (missing, too big, damaged: noted)."""
    if not regular_file(path, notes):
        return None
    try:
        if path.stat().st_size > MAX_SIDE_FILE:
            notes.append(f"{path.name} is over {MAX_SIDE_FILE >> 20} MiB; not read")
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as e:
        notes.append(f"{path.name} unreadable ({e.strerror or e})")
        return None
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        notes.append(f"{path.name} is not valid JSON ({e.msg} at line {e.lineno}); ignored")
        return None
    except RecursionError:
        notes.append(f"{path.name} is nested too deeply to read; ignored")
        return None
    return value if isinstance(value, dict) else None


def read_summary_json(path: Path, notes: list[str]) -> dict[str, Any] | None:
    """``wandb-summary.json`` without wandb's internal entries."""
    data = read_json_object(path, notes)
    if data is None:
        return None
    return {k: v for k, v in data.items() if k != "_wandb"}


def read_config_yaml(path: Path, notes: list[str]) -> dict[str, Any]:
    """A W&B ``config.yaml`` (``key: {desc, value}``) as flat dotted keys, safely loaded."""
    if not regular_file(path, notes):
        return {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    except OSError as e:
        notes.append(f"{path.name} unreadable ({e.strerror or e})")
        return {}
    import yaml  # comes with wandb; imported here so that start-up does not pay for it

    from .yaml_safe import TagTolerantLoader  # python/* tags become plain data, never objects

    try:
        data = yaml.load(text, Loader=TagTolerantLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as e:
        notes.append(f"{path.name} is not safe YAML ({str(e).splitlines()[0]}); config ignored")
        return {}
    if not isinstance(data, dict):
        return {}
    config: dict[str, Any] = {}
    for key, entry in data.items():
        key = str(key)
        if key in ("wandb_version", "_wandb"):
            continue
        value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
        if isinstance(value, dict):
            config.update(flatten(value, key))
        else:
            config[key] = value
    return config


def read_output_log(path: Path, keep: int) -> list[str]:
    """The last ``keep`` lines of a console log, as a terminal shows them."""
    if not regular_file(path, None):
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            tail = deque((visible_line(line) for line in f), maxlen=keep)
    except OSError:
        return []
    return list(tail)


def visible_line(line: str) -> str:
    """What a terminal shows of a console line: the text after its last carriage return
    (progress bars rewrite themselves with ``\r``)."""
    line = line.rstrip("\n")
    if "\r" in line:
        parts = [p for p in line.split("\r") if p.strip()]
        line = parts[-1] if parts else ""
    return line.rstrip()
