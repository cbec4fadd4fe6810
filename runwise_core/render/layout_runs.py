"""Layouts of the run-level views: list/find, run summary, live, config, best."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..numfmt import fmt, fmt_duration
from .cells import at, name, num, step, step_text
from .doc import Code, Doc, Heading, Line, Table
from .sparkline import COMPACT_BLOCKS, sparkline

if TYPE_CHECKING:  # annotations only: rendering one view does not import the others
    from ..views import AnomalyReport, BestList, ConfigView, LiveStatus, RunList, RunSummary

#: Sparkline width in a run list (compact glyphs: about half a token per block).
LIST_SPARK = 4
SUMMARY_SPARK = 10
#: Findings a run summary lists in text (in the detectors' order); JSON lists them all.
MAX_ANOMALIES_SHOWN = 5


def _shape(values: tuple[float, ...], width: int) -> str:
    if len(values) > width:  # profiles are 10 wide; a list shows fewer blocks
        step_ = len(values) / width
        values = tuple(values[int(i * step_)] for i in range(width))
    return sparkline(values, COMPACT_BLOCKS)


def trend_cell(spark: str, arrow: str) -> str:
    """``█▆▄▂▁↓``: the arrow right after the sparkline. A space before an arrow makes the
    tokenizer split it into three tokens; glued on, it costs one."""
    return f"{spark}{arrow}"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def layout_run_list(r: RunList) -> Doc:
    """Columns id, state, step, metric, trend, name: the name comes last, so its varying
    width costs no padding (every padded gap costs a token per row)."""
    if r.query is not None:
        title = f"{_runs(r.total)} match {r.query!r}" + (f", showing {len(r.rows)}" if r.total > len(r.rows) else "")
    else:
        title = f"{_runs(r.total)}, newest first" + (f", showing {len(r.rows)}" if r.total > len(r.rows) else "")
    skipped = tuple(Line(f"unreadable: {msg}") for msg in r.skipped)
    if not r.rows:
        hint = "no run's id, name, group, tags or notes contain it" if r.query is not None else (
            "no runs found; point --dir (or RUNWISE_DIR) at a folder holding wandb/ or logs")
        return Doc((Heading(title), Line(hint)) + skipped)
    keys = {row.metric for row in r.rows}
    same_key = len(keys) == 1 and None not in keys
    metric_header = next(iter(keys)) if same_key else "metric"
    # The source column appears only when the runs come from more than one kind of log: a
    # folder of W&B runs pays nothing for it.
    mixed = len({row.source for row in r.rows}) > 1
    # The title rides in the last header cell: no line of its own, no padding on any row.
    header = ("id", "state", *(("source",) if mixed else ()), "step", metric_header, "trend", f"name ({title})")
    rows = []
    for row in r.rows:
        value = num(row.final) if same_key else (f"{row.metric}={num(row.final)}" if row.metric else "-")
        trend = trend_cell(_shape(row.shape, LIST_SPARK), row.trend.arrow) if row.trend else ""
        rows.append((row.id, row.state.value, *((row.source,) if mixed else ()), step(row.last_step), value, trend,
                     name(row.name)))
    align = "lllrrll" if mixed else "llrrll"
    return Doc((Table(header, tuple(rows), align, "runs", "use -n N"),) + skipped)


def _status_line(s: RunSummary) -> str:
    parts = [f"run {s.id}" + (f" {s.name}" if s.name != s.id else ""), s.state.value]
    if s.last_step is not None:
        parts.append(f"step {step_text(s.last_step)}" + (f"/{step_text(s.total_steps)}" if s.total_steps else ""))
    if s.runtime_s is not None:
        parts.append(fmt_duration(s.runtime_s))
    if s.exit_code is not None:
        parts.append(f"exit {s.exit_code}")
    if s.group:
        parts.append(f"group {s.group}")
    if s.tags:
        parts.append("tags " + ",".join(s.tags))
    return " · ".join(parts)


def kind_name(a: Any) -> str:
    kind = getattr(a, "kind", "")
    return str(getattr(kind, "value", kind))


def anomaly_rows(anomalies: tuple[Any, ...]) -> tuple[tuple[str, ...], ...]:
    """Kind and message: the detectors' messages name the metric and the step already."""
    return tuple((kind_name(a), str(getattr(a, "message", ""))) for a in anomalies)


def layout_run_summary(s: RunSummary) -> Doc:
    blocks: list[Any] = [Heading(_status_line(s))]
    if s.anomalies:
        shown = s.anomalies[:MAX_ANOMALIES_SHOWN]
        blocks.append(Table((), anomaly_rows(shown), "ll", "anomalies",
                            f"see `runwise run {s.id} -k KEY`", title=f"anomalies ({len(s.anomalies)}):"))
        if len(s.anomalies) > len(shown):
            kinds = sorted({kind_name(a) for a in s.anomalies[len(shown):]})
            blocks.append(Line(f"  … {len(s.anomalies) - len(shown)} more ({', '.join(kinds)}): "
                               f"runwise run {s.id} --format json lists all"))
    if s.metrics:
        rows = tuple(
            (m.key, num(m.final), at(m.best, m.best_step) if m.best is not None else "-",
             trend_cell(sparkline(m.shape), m.trend.arrow))
            for m in s.metrics
        )
        more = f"; {s.other_keys} more: runwise keys {s.id}" if s.picked and s.other_keys else ""
        blocks.append(Table(("key", "final", "best@step", "trend"), rows, "lrrl", "metrics",
                            f"pick keys with -k (runwise keys {s.id})",
                            title=f"{'key metrics' if s.picked else 'metrics'}{more}"))
    else:
        blocks.append(Line("no metric history" + (f": {s.read_notes[0]}" if s.read_notes else
                                                  f" (0 rows logged; exit {s.exit_code})" if s.exit_code else "")))
    for note in s.read_notes[:2]:
        blocks.append(Line(f"note: {note}"))
    return Doc(tuple(blocks))


def layout_live(v: LiveStatus) -> Doc:
    head = f"live {v.id}" + (f" {v.name}" if v.name != v.id else "") + f" · {v.state.value}"
    if v.step is not None:
        head += f" · step {step_text(v.step)}" + (f"/{step_text(v.total_steps)}" if v.total_steps else "")
    if v.rate is not None:
        head += f" · {fmt(v.rate)} steps/s"
    if v.eta_s is not None:
        head += f" · ETA {fmt_duration(v.eta_s)}"
    if v.seconds_since_activity is not None:
        head += f" · last log {fmt_duration(v.seconds_since_activity)} ago"
    blocks: list[Any] = [Heading(head)]
    if not v.is_running:
        blocks.append(Line("no run is running; showing the newest run"))
    if v.values:
        blocks.append(Table(("key", "value", "step"),
                            tuple((x.key, num(x.value), step(x.step)) for x in v.values), "lrr", "metrics",
                            f"runwise run {v.id}", title="latest values:"))
    if v.console:
        blocks.append(Code(tuple(v.console), "text", what="console lines", hint="", title="console:"))
    return Doc(tuple(blocks))


def config_value(v: Any) -> str:
    if isinstance(v, float):
        return fmt(v)
    if isinstance(v, str):
        return v if len(v) <= 80 else v[:79] + "…"
    text = repr(v)
    return text if len(text) <= 80 else text[:79] + "…"


def layout_config(c: ConfigView) -> Doc:
    title = f"config of {c.run_id}" + (f" {c.run_name}" if c.run_name != c.run_id else "") + f": {len(c.items)} keys"
    if c.filter:
        title += f" matching {c.filter!r}"
    if not c.items:
        return Doc((Heading(title), Line("no config recorded" if not c.filter else "no key matches")))
    rows = tuple((k, config_value(v)) for k, v in c.items)
    return Doc((Heading(title), Table(("key", "value"), rows, "ll", "keys", "narrow with -f TEXT")))


def layout_best(b: BestList) -> Doc:
    way = "highest" if b.higher_is_better else "lowest"
    why = {"flag": "as asked", "role": "by the key's role", "default": "default; --max for higher-is-better"}[
        b.direction_from]
    title = f"best {b.metric} ({way} first, {why}): {_runs(len(b.rows))}"
    if b.without_metric:
        title += f", {b.without_metric} without it"
    rows = tuple(
        (r.id, name(r.name), r.state.value, at(r.best, r.best_step), num(r.final), step(r.last_step))
        for r in b.rows
    )
    return Doc((Heading(title), Table(("id", "name", "state", "best@step", "final", "last step"), rows,
                                      "lllrrr", "runs", "use -n N")))


def layout_anomaly_report(r: AnomalyReport) -> Doc:
    """Findings first, one per line; when there are none, one line that says so and over
    how many keys (the summary stays silent instead, but here the caller asked)."""
    who = f"{r.id}" + (f" {r.name}" if r.name != r.id else "")
    checked = f"{len(r.keys_checked)} key{'s' if len(r.keys_checked) != 1 else ''}"
    if not r.anomalies:
        if not r.keys_checked:
            return Doc((Line(f"anomalies of {who}: nothing to check (no scalar metric logged)"),))
        return Doc((Line(f"anomalies of {who}: none found in {checked} (every point, up to step "
                         f"{step_text(r.last_step)})"),))
    title = f"anomalies of {who}: {len(r.anomalies)} found in {checked}"
    return Doc((Table((), anomaly_rows(r.anomalies), "ll", "anomalies", f"use -k KEY (runwise keys {r.id})",
                      title=title),))
