"""The newest running run at a glance (``runwise live``): step, rate, ETA, latest values, console."""

from __future__ import annotations

from dataclasses import dataclass


from ..analysis.keypick import pick_keys
from ..model import Run, RunState
from ..settings import Settings
from ._common import now_or

#: Rows of the step clock used for the rate: the recent end of the run, not its average.
RATE_WINDOW_ROWS = 200
CONSOLE_LINES = 5


@dataclass(frozen=True)
class LatestValue:
    key: str
    value: float
    step: int


@dataclass(frozen=True)
class LiveStatus:
    """``rate`` is steps per second over the last rows; ``eta_s`` needs a running run and a
    known total.
    ``seconds_since_activity`` is the age of the newest time inside the log. ``is_running``
    is False when no run was running and the newest run is shown instead."""

    id: str
    name: str
    state: RunState
    step: int | None
    total_steps: int | None
    rate: float | None
    eta_s: float | None
    runtime_s: float | None
    seconds_since_activity: float | None
    values: tuple[LatestValue, ...]
    console: tuple[str, ...]
    is_running: bool


def step_rate(run: Run) -> float | None:
    """Steps per second over the last ``RATE_WINDOW_ROWS`` timed rows, or None."""
    ts = run.timestamps
    if ts is None or len(ts) < 2:
        return None
    fin = ts.finite()
    if len(fin) < 2:
        return None
    s = fin.steps[-RATE_WINDOW_ROWS:]
    t = fin.values[-RATE_WINDOW_ROWS:]
    dt = float(t[-1] - t[0])
    ds = float(s[-1] - s[0])
    if dt <= 0 or ds <= 0:
        return None
    return ds / dt


def live_view(run: Run, now: float | None = None, settings: Settings | None = None) -> LiveStatus:
    """Live status of ``run`` (the front end passes the newest running run, or the newest
    run when none is running)."""
    t_now = now_or(now)
    state = run.state(t_now)
    rate = step_rate(run)
    eta = None
    running = state is RunState.RUNNING
    if running and rate and run.total_steps and run.last_step is not None and run.total_steps > run.last_step:
        eta = (run.total_steps - run.last_step) / rate
    values = []
    for k in pick_keys(run.metrics, settings):
        s = run.metrics[k]
        if len(s):
            values.append(LatestValue(k, float(s.values[-1]), int(s.steps[-1])))
    console = tuple(line.rstrip() for line in run.console_tail if line.strip())[-CONSOLE_LINES:]
    age = None if run.last_activity is None else max(t_now - run.last_activity, 0.0)
    return LiveStatus(
        id=run.id,
        name=run.name,
        state=state,
        step=run.last_step,
        total_steps=run.total_steps,
        rate=rate,
        eta_s=eta,
        runtime_s=run.runtime_s,
        seconds_since_activity=age,
        values=tuple(values),
        console=console,
        is_running=running,
    )


