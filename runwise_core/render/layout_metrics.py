"""Layouts of the metric-level views: keys, history, stats, stability, compare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.compare import MISSING
from ..analysis.downsample import coarsen
from ..analysis.unique import sorted_unique
from ..numfmt import fmt
from .cells import at, num, pct, signed, step, step_text
from .doc import Code, Doc, Heading, Line, Table
from .layout_runs import config_value

if TYPE_CHECKING:  # annotations only: rendering one view does not import the others
    from ..views import Comparison, History, KeyList, StabilityTable, StatsTable


def _who(run_id: str, run_name: str) -> str:
    return run_id if run_name == run_id else f"{run_id} {run_name}"


def sampled_text(sampled: tuple[int, int] | None) -> str:
    """What a heading says of a history the server sampled (W&B cloud); "" for every row."""
    if sampled is None:
        return ""
    return f"sampled by the server: {sampled[0]:,} of {sampled[1]:,} rows; --exact for every row"


def _steps(first: int | None, last: int | None) -> str:
    if first is None:
        return "-"
    return step(first) if first == last else f"{step(first)}-{step(last)}"


def _steps_text(first: int | None, last: int | None) -> str:
    if first is None:
        return "-"
    return step_text(first) if first == last else f"{step_text(first)}–{step_text(last)}"


def layout_keys(k: KeyList) -> Doc:
    title = f"keys of {_who(k.run_id, k.run_name)}: {len(k.keys)} scalar"
    if k.non_scalar:
        title += f", {len(k.non_scalar)} non-scalar"
    title += f" ({step_text(k.rows)} rows)"
    if k.sampled:
        title += f"; points {sampled_text(k.sampled)}"
    blocks: list[Any] = [Heading(title)]
    if k.keys:
        with_nf = any(i.non_finite for i in k.keys)
        header = ("key", "points", "steps") + (("nan/inf",) if with_nf else ())
        rows = tuple(
            (i.key, step(i.count), _steps(i.first_step, i.last_step)) + ((step(i.non_finite),) if with_nf else ())
            for i in k.keys
        )
        blocks.append(Table(header, rows, "lrrr", "keys", "list a prefix with `runwise keys ID PREFIX`"))
    elif not k.non_scalar:
        blocks.append(Line("no metric keys: the run logged no history"))
    if k.non_scalar:
        blocks.append(Line("non-scalar: " + ", ".join(f"{key} ({kind})" for key, kind in k.non_scalar)))
    return Doc(tuple(blocks))


def _csv_num(x: float) -> str:
    return fmt(x)


def _key_facts(kh: Any) -> str:
    st = kh.stats
    parts = [f"{kh.key}: {step_text(st.count)} points, steps {_steps_text(st.first_step, st.last_step)}"]
    if st.count:
        parts.append(f"first {num(kh.points.values[0])} · last {at(st.final, st.final_step)}")
        parts.append(f"min {at(st.min, st.min_step)} · max {at(st.max, st.max_step)}")
    return " · ".join(parts)


def _non_finite_line(kh: Any, limit: int = 20) -> str | None:
    st = kh.stats
    if not st.non_finite:
        return None
    pts = [f"{fmt(v)}@{int(s)}" for s, v in zip(kh.non_finite.steps[:limit], kh.non_finite.values[:limit])]
    more = st.non_finite - len(pts)
    return f"non-finite {kh.key}: {st.non_finite} point{'s' if st.non_finite != 1 else ''}: " + ", ".join(pts) + (f" and {more} more" if more else "")


def layout_history(h: History, factor: int = 1, force_grid: bool = False) -> Doc:
    """The exact table when every point fits, else the shared step grid (coarsened by
    ``factor`` to fit a budget: merging rows keeps each row's true min and max)."""
    keys = ", ".join(kh.key for kh in h.keys)
    blocks: list[Any] = []
    exact = h.exact and not force_grid and factor == 1
    if exact:
        every = f"every sampled point of {keys} ({sampled_text(h.sampled)})" if h.sampled else f"every point of {keys}"
        blocks.append(Heading(f"history of {_who(h.run_id, h.run_name)}: {every}"))
    else:
        grids = [coarsen(kh.grid, factor) for kh in h.keys]
        width = grids[0].width if grids else h.width
        nan_note = "; .nan = NaN/Inf points in it" if any(kh.stats.non_finite for kh in h.keys) else ""
        blocks.append(Heading(
            f"history of {_who(h.run_id, h.run_name)}: {keys} downsampled to rows of {step_text(width)} steps "
            f"(row = bucket start step; min,max over the bucket, so spikes stay visible{nan_note})"
            + (f"; {sampled_text(h.sampled)}" if h.sampled else "")))
    for kh in h.keys:
        blocks.append(Line(_key_facts(kh)))
        nf = _non_finite_line(kh)
        if nf:
            blocks.append(Line(nf))
    hint = "zoom in with --steps FROM:TO or fewer -k keys"
    if exact:
        steps = h.union_steps()
        cols = []
        for kh in h.keys:
            idx = np.searchsorted(kh.points.steps, steps)
            idx_c = np.minimum(idx, max(len(kh.points) - 1, 0))
            present = (idx < len(kh.points)) & (kh.points.steps[idx_c] == steps) if len(kh.points) else np.zeros(
                steps.size, dtype=bool)
            cols.append((present, kh.points.values[idx_c] if len(kh.points) else np.zeros(steps.size)))
        lines = []
        for r, s in enumerate(steps):
            cells = [str(int(s))] + [_csv_num(v[r]) if p[r] else "" for p, v in cols]
            lines.append(",".join(cells))
        header = ("step," + ",".join(kh.key for kh in h.keys),)
        blocks.append(Code(tuple(lines), "csv", header, "rows", hint))
        return Doc(tuple(blocks))
    grids = [coarsen(kh.grid, factor) for kh in h.keys]
    # A key with NaN/Inf gets a third column: how many non-finite points each row holds
    # (blank for none), so the rows where training broke show in the grid itself.
    with_nf = [kh.stats.non_finite > 0 for kh in h.keys]
    starts = sorted_unique(np.concatenate([g.starts for g in grids])) if grids else np.zeros(0, dtype=np.int64)
    cols = []
    for g in grids:
        pos = np.searchsorted(g.starts, starts)
        pos_c = np.minimum(pos, max(g.starts.size - 1, 0))
        present = (pos < g.starts.size) & (g.starts[pos_c] == starts) if g.starts.size else np.zeros(
            starts.size, dtype=bool)
        cols.append((present, g.min[pos_c], g.max[pos_c], g.non_finite[pos_c]) if g.starts.size else (present,))
    lines = []
    for r, s in enumerate(starts):
        cells = [str(int(s))]
        for col, nf in zip(cols, with_nf):
            if col[0][r]:
                cells += [_csv_num(col[1][r]), _csv_num(col[2][r])]
                if nf:
                    cells.append(str(int(col[3][r])) if col[3][r] else "")
            else:
                cells += ["", ""] + ([""] if nf else [])
        lines.append(",".join(cells))
    names = [f"{kh.key}.min,{kh.key}.max" + (f",{kh.key}.nan" if nf else "") for kh, nf in zip(h.keys, with_nf)]
    header = ("step," + ",".join(names),)
    blocks.append(Code(tuple(lines), "csv", header, "rows", hint))
    return Doc(tuple(blocks))


def layout_stats(t: StatsTable) -> Doc:
    """One row per key; the NaN/Inf column appears only when some key has one (the title
    says "no NaN/Inf" otherwise), since a column of zeros costs two tokens a row."""
    rng = ""
    if t.step_range:
        lo, hi = t.step_range
        rng = f", steps {'' if lo is None else lo}:{'' if hi is None else hi}"
    with_nf = any(s.non_finite for _, s in t.rows)
    over = sampled_text(t.sampled) if t.sampled else "exact, all points"
    clean = "" if with_nf else "; no NaN/Inf in the sample" if t.sampled else "; no NaN/Inf"
    title = f"stats of {_who(t.run_id, t.run_name)} ({over}{rng}{clean})"
    if t.picked:
        title += "; key metrics, -k for others"
    rows = tuple(
        (k, step(s.count), at(s.min, s.min_step), at(s.max, s.max_step), num(s.mean), num(s.final))
        + ((f"{s.nan}/{s.inf}",) if with_nf else ())
        for k, s in t.rows
    )
    header = ("key", "n", "min@step", "max@step", "mean", "final") + (("nan/inf",) if with_nf else ())
    return Doc((Heading(title), Table(header, rows, "lrrrrrr", "keys", "ask for fewer keys with -k")))


def layout_stability(t: StabilityTable) -> Doc:
    title = f"stability of {_who(t.run_id, t.run_name)} (rolling std over a window; Theil-Sen slope per 1k steps)"
    if t.sampled:
        title += f"; {sampled_text(t.sampled)}"
    rows = tuple(
        (k, s.status.value, step(s.count), step(s.window), num(s.rolling_std_median),
         "-" if s.relative_noise is None else f"{fmt(100 * s.relative_noise, 3)}%",
         signed(s.slope_per_1k), signed(s.recent_slope_per_1k))
        for k, s in t.rows
    )
    header = ("key", "status", "n", "window", "roll.std", "noise", "slope/1k", "last¼ slope/1k")
    return Doc((Heading(title), Table(header, rows, "llrrrrrr", "keys", "ask for fewer keys with -k")))


def _val(v: float | None, used: int | None, exact: bool) -> str:
    return num(v) if exact or used is None else f"{num(v)}@{step(used)}"


def _run_label(b: Any, at_step: int | None) -> str:
    where = f"@{step_text(at_step)}" if at_step is not None else f" ({b.state.value}, step {step_text(b.last_step)})"
    return f"{b.id}{'' if b.name == b.id else ' ' + b.name}{where}"


def layout_compare(c: Comparison) -> Doc:
    head = f"compare A={_run_label(c.a, c.step_a)} vs B={_run_label(c.b, c.step_b)}"
    blocks: list[Any] = [Heading(head)]
    notes = []
    if c.step_a is not None or c.step_b is not None:
        notes.append("values at the asked step; value@step where the nearest logged step stood in")
    else:
        notes.append("final values")
    if c.filter:
        notes.append(f"keys containing {c.filter!r}")
    if c.threshold_pct is not None:
        notes.append(f"|change| >= {fmt(c.threshold_pct)}%, {c.hidden_below_threshold} below hidden")
    blocks.append(Line("; ".join(notes)))
    header = ("key", "A", "B", "Δ", "%")
    hint = "narrow with -f TEXT or -t PCT"

    def row(r: Any) -> tuple[str, ...]:
        return (r.key, _val(r.a, r.a_step, r.a_exact), _val(r.b, r.b_step, r.b_exact), signed(r.delta), pct(r.pct))

    if not c.rows:
        blocks.append(Line("no metric in common" if not c.hidden_below_threshold else "no metric above the threshold"))
    elif c.grouped:
        groups: dict[str, list[Any]] = {}
        for r in c.rows:
            groups.setdefault(r.group, []).append(r)
        for g, rs in groups.items():
            blocks.append(Table(header, tuple(row(r) for r in rs), "lrrrr", "metrics", hint, title=f"{g or '(no prefix)'}:"))
    else:
        blocks.append(Table(header, tuple(row(r) for r in c.rows), "lrrrr", "metrics", hint))
    if c.only_a:
        blocks.append(Line(f"only in A ({len(c.only_a)}): " + ", ".join(c.only_a[:10]) + (" …" if len(c.only_a) > 10 else "")))
    if c.only_b:
        blocks.append(Line(f"only in B ({len(c.only_b)}): " + ", ".join(c.only_b[:10]) + (" …" if len(c.only_b) > 10 else "")))
    if c.config_diff is not None:
        if c.config_diff:
            rows = tuple(
                (d.key, "(missing)" if d.a is MISSING else config_value(d.a),
                 "(missing)" if d.b is MISSING else config_value(d.b))
                for d in c.config_diff
            )
            blocks.append(Table(("config", "A", "B"), rows, "lll", "config keys", "see `runwise config ID`",
                                title=f"config differences ({len(rows)}):"))
        else:
            blocks.append(Line("config: identical"))
    return Doc(tuple(blocks))
