"""W&B's times as text: ISO 8601, naive meaning UTC (legacy ``wandb-metadata.json``'s
``startedAt``/``heartbeatAt``, the GraphQL API's ``createdAt``/``heartbeatAt``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def parse_time(value: Any) -> float | None:
    """``2026-11-26T09:00:00`` (UTC), ``...Z`` or ``...+01:00`` as epoch seconds; None for
    anything that is not such a string."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()
