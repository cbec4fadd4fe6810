"""The one interface every reader implements.

A source does two things: ``scan`` claims the runs that lie in one folder during a single
walk of the tree (cheap: names and sizes, no parsing), and ``load`` reads one claimed run
into a :class:`~runwise_core.model.Run`. Nothing outside ``runwise_core.sources`` knows any
file format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..model import Run


@dataclass(frozen=True)
class RunRef:
    """Where one run lies on disk, found without parsing it.

    ``paths`` holds every segment, oldest first (a resumed W&B run leaves several folders
    with one id; the catalog merges refs of one source that share an id). ``sort_time`` orders
    runs newest first: the start time where the layout gives it cheaply, else the mtime.
    """

    source: str
    id: str
    paths: tuple[Path, ...]
    sort_time: float
    name_hint: str | None = None


class Source(Protocol):
    """A reader for one format."""

    name: str

    def scan(self, folder: Path, files: list[str], subdirs: list[str]) -> list[RunRef]:
        """Claim the runs in ``folder`` (its file and subfolder names given).

        A source may remove names from ``subdirs`` to stop the walk from entering folders it
        has claimed whole (a W&B run folder, say).
        """
        ...

    def load(self, ref: RunRef) -> Run:
        """Read one run, every point. Damage ends the read at the last good record with a
        note in ``Run.read_notes``; only a file that cannot be read at all raises
        :class:`~runwise_core.errors.UnreadableLog`."""
        ...
