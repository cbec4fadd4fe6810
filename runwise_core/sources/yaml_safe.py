"""Read YAML config files (Lightning's ``hparams.yaml``) safely, even with Python tags.

Real ``hparams.yaml`` files carry tags such as ``!!python/name:torch.optim.adamw.AdamW ''``
or ``!!python/object:argparse.Namespace``, on which ``yaml.safe_load`` fails. The loader here
is a ``SafeLoader`` whose fallback for unknown tags builds plain data and never imports or
calls anything: a tagged scalar becomes its text (or the name in the tag when the text is
empty), a tagged sequence a list, a tagged mapping a dict. So the safe part of the file is
kept and the rest reads as the names it mentions.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..errors import UnreadableLog


def __getattr__(name: str) -> Any:
    """``TagTolerantLoader``, built on first use: PyYAML costs ~10 ms to import, which every
    command would pay through the readers that merely might meet a YAML file."""
    if name == "TagTolerantLoader":
        return _tag_tolerant_loader()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=1)
def _tag_tolerant_loader() -> type:
    import yaml

    class TagTolerantLoader(yaml.SafeLoader):
        """SafeLoader that turns any unknown tag into plain data (see the module docstring)."""

    TagTolerantLoader.add_constructor(None, _construct_unknown)
    # SafeLoader knows no python/* tags, but guard against any registered on the base classes.
    for tag in list(TagTolerantLoader.yaml_constructors):
        if tag and tag.startswith("tag:yaml.org,2002:python/"):
            del TagTolerantLoader.yaml_constructors[tag]
    return TagTolerantLoader


def _construct_unknown(loader: Any, node: Any) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    text = loader.construct_scalar(node)
    if text:
        return str(text)
    tag = node.tag or ""
    prefix = "tag:yaml.org,2002:python/"
    # ``!!python/name:pkg.mod.fn ''`` -> ``pkg.mod.fn``
    return tag[len(prefix):].split(":", 1)[-1] if tag.startswith(prefix) else tag


def load_yaml_mapping(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The top-level mapping of a YAML file and any notes; never evaluates a tag.

    A file that parses but is not a mapping gives ``{}`` with a note; malformed YAML gives
    ``{}`` with a note (a config is a detail, it must not hide the run). Only an unreadable
    file raises :class:`UnreadableLog`.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise UnreadableLog(f"cannot read {path}: {exc.strerror or exc}") from exc
    import yaml

    TagTolerantLoader = _tag_tolerant_loader()
    try:
        data = yaml.load(text, Loader=TagTolerantLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return {}, [f"{Path(path).name}: not valid YAML{where}; config skipped"]
    except (ValueError, RecursionError) as exc:  # e.g. a date like 2020-13-45, or deep nesting
        return {}, [f"{Path(path).name}: unreadable YAML value ({type(exc).__name__}); config skipped"]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [f"{Path(path).name}: a YAML {type(data).__name__}, not a mapping; config skipped"]
    return {str(k): v for k, v in data.items()}, []
