"""Smaller input schemas for tools/list, with every cap kept.

pydantic writes a ``title`` for every property (the name again, capitalised) and spells an
optional argument as ``anyOf: [X, {"type": "null"}]``. Every client pays for those tokens
in every conversation. :func:`compact` drops the titles and folds ``X | None`` (with default
None) into ``X``: the published schema is then a little stricter than what the server
accepts (it still takes an explicit null), never looser, and the maxima, minima, lengths and
enums stay exactly as the pydantic signature declares them.
"""

from __future__ import annotations

from typing import Any


def compact(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without titles and with nullable unions folded (a new dict)."""
    out = _strip(schema)
    assert isinstance(out, dict)
    return out


def _strip(node: Any, in_properties: bool = False) -> Any:
    if isinstance(node, list):
        return [_strip(x) for x in node]
    if not isinstance(node, dict):
        return node
    if in_properties:  # keys here are argument names, one of which may be "title"
        return {k: _strip(v) for k, v in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title":
            continue
        out[key] = _strip(value, in_properties=key == "properties")
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        (kept,) = [x for x in any_of if x != {"type": "null"}]
        del out["anyOf"]
        out = {**kept, **out}
        if out.get("default", 0) is None:
            del out["default"]  # optional by not being required; "null" says nothing more
    return out
