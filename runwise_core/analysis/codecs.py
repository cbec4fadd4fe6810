"""JSON forms of the analysis answers that :mod:`.stored` keeps on disk.

Each codec gives back exactly what it was given, types included: JSON keeps ints and floats
apart, writes every float in its shortest round-tripping form and writes NaN and the
infinities as ``NaN``/``Infinity``, so a stored answer renders byte for byte like a
computed one. Decoding checks the shape and raises on anything else (the caller then
computes the answer afresh).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .stats import SeriesStats
from .stored import Codec
from .trend import Trend

if TYPE_CHECKING:
    from .anomalies.finding import Anomaly

_STATS_INT = ("count", "first_step", "last_step", "min_step", "max_step", "final_step", "nan", "inf")
_STATS_FIELDS = tuple(SeriesStats.__dataclass_fields__)


def _number(x: Any, kind: type) -> Any:
    """``x`` as it must have been stored: None, or exactly an int / a float (bool refused)."""
    if x is None:
        return None
    if type(x) is not kind:
        raise TypeError(f"expected {kind.__name__}, got {type(x).__name__}")
    return x


def _stats_decode(raw: Any) -> SeriesStats:
    if not isinstance(raw, list) or len(raw) != len(_STATS_FIELDS):
        raise ValueError("not a stats record")
    return SeriesStats(*(_number(x, int if name in _STATS_INT else float) for name, x in zip(_STATS_FIELDS, raw)))


def _stats_encode(st: SeriesStats) -> list[Any]:
    return [getattr(st, name) for name in _STATS_FIELDS]


STATS: Codec[SeriesStats] = Codec(_stats_encode, _stats_decode)
TREND: Codec[Trend] = Codec(lambda t: t.value, lambda raw: Trend(raw))
SHAPE: Codec[tuple[float, ...]] = Codec(list, lambda raw: tuple(_number(x, float) for x in raw))


def _anomalies_encode(found: tuple["Anomaly", ...]) -> list[Any]:
    return [[a.kind, a.metric, a.step, a.message, a.end_step, a.evidence] for a in found]


def _anomalies_decode(raw: Any) -> tuple["Anomaly", ...]:
    from .anomalies.finding import Anomaly  # the detectors' package, only when an answer is read

    out = []
    for kind, metric, step, message, end_step, evidence in raw:
        if not (isinstance(kind, str) and isinstance(metric, str) and isinstance(message, str)
                and isinstance(evidence, dict)):
            raise TypeError("not an anomaly record")
        out.append(Anomaly(kind, metric, _number(step, int), message, _number(end_step, int), evidence))
    return tuple(out)


ANOMALIES: Codec[tuple["Anomaly", ...]] = Codec(_anomalies_encode, _anomalies_decode)
