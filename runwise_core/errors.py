"""The errors runwise raises for anything a user or a model can cause.

Every message says what went wrong and the next step (valid ids, closest keys, a path and
byte offset). Front ends show the message as it is: the CLI prints it and exits 1, the MCP
server raises it as a ``ToolError``. Foreign exceptions (OS, JSON, protobuf) are converted
once, where a reader meets them.

    RunwiseError
    ├── RunNotFound        unknown or ambiguous run selector
    ├── KeyNotFound        unknown metric key
    ├── NoHistory          a run that logged no metric points
    ├── UnreadableLog      a file that cannot be read at all
    ├── PathNotAllowed     a path outside the allowed roots
    └── UsageError         arguments that do not fit together
"""

from __future__ import annotations

from collections.abc import Iterable


class RunwiseError(Exception):
    """Base class: the message is complete and meant for a person or a model."""


class RunNotFound(RunwiseError):
    pass


class KeyNotFound(RunwiseError):
    pass


class NoHistory(RunwiseError):
    pass


class UnreadableLog(RunwiseError):
    pass


class PathNotAllowed(RunwiseError):
    pass


class UsageError(RunwiseError):
    pass


def closest(word: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """The candidates nearest to ``word``: substring matches first, then fuzzy ones."""
    pool = list(dict.fromkeys(candidates))
    low = word.lower()
    contains = [c for c in pool if low and low in c.lower()]
    import difflib  # only an error needs it: start-up does not pay for it

    fuzzy = difflib.get_close_matches(word, pool, n=n, cutoff=0.5)
    return list(dict.fromkeys(contains + fuzzy))[:n]
