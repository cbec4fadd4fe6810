"""User settings: metric roles, metric directions and anomaly thresholds.

Read from ``[tool.runwise]`` in a ``pyproject.toml`` or from a ``runwise.toml`` (top-level
tables, or the same ``[tool.runwise]`` table), whichever is found first walking from the
working folder upward; in one folder ``runwise.toml`` wins. No file means defaults.

    [tool.runwise.roles]            # key (or fnmatch pattern) -> role name
    "my_eval_metric" = "val_loss"
    [tool.runwise.directions]       # key (or pattern) -> "higher" | "lower"
    "bleu_*" = "higher"
    [tool.runwise.anomalies]        # any field of Thresholds
    spike_min_z = 12.0

A settings file never makes runwise fail: an unreadable file or an unknown entry is skipped
and recorded in :attr:`Settings.notes`, because a typo in a config should not hide a run.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _toml() -> Any:
    """The TOML parser (tomllib, or tomli before 3.11), or None; imported only when a settings
    file is found, so a folder without one does not pay for it."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - exercised on 3.10 only
        import tomli  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover
        return None
    return tomli  # pragma: no cover


#: Role names accepted in ``[tool.runwise.roles]`` (the values of ``roles.Role``).
ROLE_NAMES = ("train_loss", "val_loss", "loss", "accuracy", "lr", "grad_norm", "throughput", "other")


@dataclass(frozen=True)
class Thresholds:
    """Detector thresholds. Defaults are the ones measured in ``benchmarks/anomalies``.

    Each threshold is a ratio or a robust z-score, never an absolute metric value, so one set
    works for losses near 0.01 and rewards near -900.
    """

    # spike: robust z of a point over the local median, in local MAD sigmas.
    spike_min_z: float = 10.0
    # spike: the excursion must also be this fraction of the local level (1.0: doubled).
    spike_min_rel: float = 1.0
    # spike: an excursion longer than this fraction of the points (3 to 50) is not a spike.
    spike_max_len_frac: float = 0.005
    # spike: findings kept per metric (the strongest); the rest are counted in the message.
    spike_max_reported: int = 3
    # divergence: rise of the final level over the best, in units of max(progress, |best|).
    divergence_min_rise: float = 0.5
    # overfitting: validation rise over its best, as a fraction of the best level.
    overfit_min_rise_rel: float = 0.005
    # overfitting: training improvement over the same stretch, as a fraction of its level.
    overfit_train_min_drop_rel: float = 0.01
    # plateau: start-to-end change under this fraction of the level is "no progress".
    plateau_flat_rel: float = 0.01
    # plateau: fraction of the run's steps at the end that must be flat to call a stall.
    plateau_min_final_frac: float = 0.35
    # plateau: improvement just before a stall, as a fraction of the stalled level.
    plateau_stall_drop_rel: float = 0.2
    # gradient: explosion factor over the running level.
    grad_explode_factor: float = 10.0
    # gradient: the final level under this fraction of the early level is vanishing.
    grad_vanish_factor: float = 1e-3
    # throughput: the level after a drop at most this fraction of the level before.
    throughput_drop_frac: float = 0.6

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True)
class Settings:
    """Everything a user can configure. Frozen; build a new one with :func:`settings_from_mapping`.

    ``roles`` maps a key or fnmatch pattern to a role name; ``directions`` maps a key or
    pattern to ``True`` when higher is better. ``path`` is the file the settings came from.
    """

    roles: dict[str, str] = field(default_factory=dict)
    directions: dict[str, bool] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    path: str | None = None
    notes: tuple[str, ...] = ()


DEFAULT_SETTINGS = Settings()


def settings_from_mapping(table: dict[str, Any], path: str | None = None) -> Settings:
    """Build settings from a parsed ``[tool.runwise]`` table; bad entries become notes."""
    notes: list[str] = []
    where = path or "settings"
    roles: dict[str, str] = {}
    for key, value in _table(table.get("roles"), "roles", where, notes).items():
        if isinstance(value, str) and value.lower() in ROLE_NAMES:
            roles[str(key)] = value.lower()
        else:
            notes.append(f"{where}: roles.{key} = {value!r} is not one of {', '.join(ROLE_NAMES)}; ignored")
    directions: dict[str, bool] = {}
    for key, value in _table(table.get("directions"), "directions", where, notes).items():
        word = str(value).lower()
        if word in ("higher", "max", "up"):
            directions[str(key)] = True
        elif word in ("lower", "min", "down"):
            directions[str(key)] = False
        else:
            notes.append(f"{where}: directions.{key} = {value!r} must be 'higher' or 'lower'; ignored")
    overrides: dict[str, Any] = {}
    defaults = Thresholds()
    for key, value in _table(table.get("anomalies"), "anomalies", where, notes).items():
        if key not in Thresholds.field_names():
            notes.append(f"{where}: anomalies.{key} is unknown (known: {', '.join(Thresholds.field_names())}); ignored")
            continue
        kind = type(getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            notes.append(f"{where}: anomalies.{key} = {value!r} is not a number; ignored")
            continue
        overrides[key] = kind(value)
    for key in table:
        if key not in ("roles", "directions", "anomalies"):
            notes.append(f"{where}: unknown table or key {key!r} (known: roles, directions, anomalies); ignored")
    return Settings(roles, directions, dataclasses.replace(defaults, **overrides), path, tuple(notes))


def load_settings(start: Path | str | None = None) -> Settings:
    """Settings from the nearest ``runwise.toml`` or ``pyproject.toml`` with ``[tool.runwise]``.

    Walks from ``start`` (default: the working folder) up to the filesystem root. A
    ``pyproject.toml`` without a ``[tool.runwise]`` table does not stop the walk.
    """
    folder = Path(start if start is not None else Path.cwd()).resolve()
    for here in (folder, *folder.parents):
        for name in ("runwise.toml", "pyproject.toml"):
            candidate = here / name
            if not candidate.is_file():
                continue
            toml = _toml()
            if toml is None:
                return Settings(notes=(f"{candidate}: tomllib/tomli not available on this Python; settings ignored",))
            try:
                with candidate.open("rb") as handle:
                    data = toml.load(handle)
            except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
                return Settings(path=str(candidate), notes=(f"{candidate}: unreadable ({exc}); using defaults",))
            table = data.get("tool", {}).get("runwise") if isinstance(data.get("tool"), dict) else None
            if name == "runwise.toml" and table is None:
                table = data
            if isinstance(table, dict):
                return settings_from_mapping(table, str(candidate))
    return DEFAULT_SETTINGS


def _table(value: Any, name: str, where: str, notes: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    notes.append(f"{where}: {name} must be a table; ignored")
    return {}
