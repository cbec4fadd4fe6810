"""wandb's protobuf definitions, imported without importing wandb itself.

``import wandb`` takes ~0.5-0.8 s (it loads its SDK, settings and service machinery); the
generated ``wandb_internal_pb2`` module alone takes ~50 ms. Importing ``wandb.proto`` normally
runs ``wandb/__init__.py`` first, so when wandb is not loaded yet we register a bare package
object for ``wandb`` just long enough to import the protobuf modules, then remove it: a later
``import wandb`` (the cloud source) still runs the real package and finds the already
imported ``wandb.proto`` modules, the very same objects.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import lru_cache
from typing import Any

from ..errors import UnreadableLog


@lru_cache(maxsize=1)
def internal_pb2() -> Any:
    """The ``wandb_internal_pb2`` module (``Record``, ``HistoryRecord``, ...)."""
    if "wandb" in sys.modules:
        return importlib.import_module("wandb.proto.wandb_internal_pb2")
    spec = importlib.util.find_spec("wandb")
    if spec is None or not spec.submodule_search_locations:
        raise UnreadableLog("reading .wandb files needs the wandb package: pip install wandb")
    stub = types.ModuleType("wandb")
    stub.__path__ = list(spec.submodule_search_locations)
    sys.modules["wandb"] = stub
    try:
        return importlib.import_module("wandb.proto.wandb_internal_pb2")
    finally:
        if sys.modules.get("wandb") is stub:
            del sys.modules["wandb"]
