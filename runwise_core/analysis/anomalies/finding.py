"""The result type every detector returns."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The stable kind names, in the order the issue lists them.
KINDS: tuple[str, ...] = ("spike", "nan", "divergence", "overfitting", "plateau", "gradient", "throughput")


@dataclass(frozen=True)
class Anomaly:
    """One finding: what (``kind``), where (``metric``, ``step``..``end_step``) and a one-line
    ``message`` with the numbers, formatted with ``numfmt`` so it reads the same everywhere.

    ``evidence`` holds the few floats behind the message (peak, level, ratio, ...) for JSON
    output and for tests; renderers never parse ``message``.
    """

    kind: str
    metric: str
    step: int
    message: str
    end_step: int | None = None
    evidence: dict[str, float] = field(default_factory=dict)
