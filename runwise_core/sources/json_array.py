"""One JSON array parsed as :func:`json.loads` parses it, at twice its speed or more.

A million-row JSON-lines log spends most of its decoding time in the JSON parser.
``pydantic_core.from_json`` (pydantic's own parser, so no new dependency) gives the same
values as :func:`json.loads` for every text both accept: floats correctly rounded, ``NaN``
and ``Infinity``, ints of any length, a repeated key's last value at its first place.
Where the two disagree it refuses texts that :func:`json.loads` takes (lone surrogates,
nesting deeper than ~200, a byte-order mark): such a text is parsed again by
:func:`json.loads`, which stays the definition. Before first use a short probe checks that
the installed ``from_json`` still behaves so, and that it does not take ints longer than
Python's own digit limit (``sys.set_int_max_str_digits``; its own limit is fixed), which
:func:`json.loads` refuses.

``pydantic_core`` is imported on the first parse, not with this module: ``runwise --help``
never pays for it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

#: Texts whose parse must come out exactly as :func:`json.loads` gives it.
_PROBE = (b'[{"a": 1, "b": 2.5, "a": -0.0}, NaN, Infinity, -Infinity, 1e400, -1e400, 5e-324, 1e-400,'
          b' 0.1, 2.2250738585072011e-308, 1.7976931348623157e308, 9007199254740993, -9223372036854775809,'
          b' 123456789012345678901234567890, 1E5, -0, "\\u00e9\\n", {"": null, "t": true, "f": false}, []]')
#: from_json as probed under each int digit limit (None: not to be used).
_checked: dict[int, Callable[[Any], Any] | None] = {}


def parse_array(blob: bytes | bytearray) -> list[Any] | None:
    """The JSON array in ``blob`` as :func:`json.loads` gives it; None when it does not parse
    as one (:func:`json.loads` raises ValueError, or the text is not an array).

    Nesting too deep for :func:`json.loads` (a RecursionError) is None too: the caller's
    line-by-line path then says which line it was.
    """
    fast = _fast_parser()
    if fast is not None:
        try:
            value = fast(blob)
        except ValueError:
            pass  # json.loads may take it (see the module docstring)
        else:
            return value if isinstance(value, list) else None
    try:
        value = json.loads(blob)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) else None


def _fast_parser() -> Callable[[Any], Any] | None:
    """``pydantic_core.from_json`` when it is installed and passes the probe, else None."""
    get_limit = getattr(sys, "get_int_max_str_digits", None)
    limit = get_limit() if get_limit is not None else 0
    if limit not in _checked:
        _checked[limit] = _probe(limit)
    return _checked[limit]


def _probe(limit: int) -> Callable[[Any], Any] | None:
    try:
        from pydantic_core import from_json
    except ImportError:  # pydantic before 2.5 has no from_json
        return None
    try:
        if repr(from_json(_PROBE)) != repr(json.loads(_PROBE)):
            return None
    except ValueError:
        return None
    if limit:
        try:
            from_json(b"1" * (limit + 1))
        except ValueError:
            pass
        else:
            return None  # json.loads refuses such an int: from_json would take lines it skips
    return from_json
