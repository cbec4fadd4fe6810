"""The tools: one typed signature per zoom level, each one core view and one render.

Every argument is typed with its cap in the schema (lengths, maxima, enums), so pydantic
refuses an oversized request before any file is touched. Descriptions say when to use the
tool and what it costs, so an agent zooms in: list_runs, summarize_run, get_keys, then
get_history. The whole tools/list reply is held under 2,500 tokens
(``tests/test_server_tools.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations
from pydantic import ConfigDict, Field

from runwise_core import views
from runwise_core.arguments import parse_run_at

from .runner import Runner
from .schema import compact
from .workspace import Progress, Workspace, step_range

#: Hard caps, published in the schemas.
MAX_TOKENS_DEFAULT = 2_000
MAX_TOKENS_CAP = 20_000
MAX_TOKENS_MIN = 50
LIST_LIMIT_CAP = 100
HISTORY_KEYS_CAP = 10
KEYS_CAP = 50
#: The views refuse fewer than 10 samples (a shorter history says nothing a summary does not).
SAMPLES_MIN = views.MIN_SAMPLES
TEXT_CAP = 200
PATH_CAP = 4_096
STEP_CAP = 10**12

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
#: The run tools of a server started with a W&B project: they may reach that W&B server.
READ_ONLY_CLOUD = ToolAnnotations(read_only_hint=True, open_world_hint=True)

Key = Annotated[str, Field(max_length=TEXT_CAP)]
RunSel = Annotated[str, Field(max_length=TEXT_CAP, description="id, id prefix, name, 'latest' or ENTITY/PROJECT/ID")]
MaxTokens = Annotated[int, Field(ge=MAX_TOKENS_MIN, le=MAX_TOKENS_CAP, description="output budget (trims, says what)")]
Keys = Annotated[list[Key] | None, Field(min_length=1, max_length=KEYS_CAP,
                                         description="metric keys, exact or glob ('train/*'); default: key metrics")]
HistoryKeys = Annotated[list[Key] | None, Field(min_length=1, max_length=HISTORY_KEYS_CAP,
                                                description="metric keys from get_keys; default: the losses")]
Samples = Annotated[int, Field(ge=SAMPLES_MIN, le=views.MAX_SAMPLES, description="values per key")]
StepFrom = Annotated[int | None, Field(ge=0, le=STEP_CAP, description="first step to include")]
StepTo = Annotated[int | None, Field(ge=0, le=STEP_CAP, description="last step to include")]
Filter = Annotated[str | None, Field(max_length=TEXT_CAP, description="only keys containing this text")]
State = Literal["running", "finished", "failed", "crashed", "unknown"]
Project = Annotated[str | None, Field(max_length=TEXT_CAP, pattern=r"^[\w.\-]+/[\w.\-]+$",
                                      description="W&B ENTITY/PROJECT (default: the server's)")]
Exact = Annotated[bool, Field(description="W&B runs: every row, not the server's sample (slower)")]


def build_tools(runner: Runner) -> list[Tool]:
    """The server's tools, bound to ``runner`` (and through it, one workspace)."""
    ws: Workspace = runner.workspace

    async def list_runs(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=LIST_LIMIT_CAP, description="runs to show")] = 10,
        state: Annotated[State | None, Field(description="only runs in this state")] = None,
        query: Annotated[str | None, Field(max_length=TEXT_CAP,
                                           description="only runs whose id, name, group, tags or notes contain it")] = None,
        wandb_project: Project = None,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Start here. One line per run, newest first: id, name, state, step, main metric, trend. ~25 tokens a run; rescans for new runs."""
        return await runner.text("list_runs", ctx, lambda p: ws.list_runs(limit, state, query, p, wandb_project),
                                 max_tokens)

    async def summarize_run(
        ctx: Context,
        run: RunSel = "latest",
        keys: Keys = None,
        anomalies: Annotated[bool, Field(description="detect anomalies")] = True,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """How is a run going: status, anomalies, key metrics (final, best, trend). ~300-600 tokens. Next: get_keys, then get_history."""
        return await runner.text("summarize_run", ctx, lambda p: views.run_view(
            ws.run(run, p, keys=keys), keys, anomalies=anomalies, settings=ws.settings), max_tokens)

    async def get_keys(
        ctx: Context,
        run: RunSel = "latest",
        filter: Filter = None,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Every metric key of a run with point count and step range; call before get_history or get_stats. ~10 tokens a key."""
        return await runner.text("get_keys", ctx, lambda p: views.keys_view(ws.run(run, p), filter), max_tokens)

    async def get_history(
        ctx: Context,
        run: RunSel = "latest",
        keys: HistoryKeys = None,
        samples: Samples = views.DEFAULT_SAMPLES,
        step_from: StepFrom = None,
        step_to: StepTo = None,
        exact: Exact = False,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Metric values at real steps as CSV, downsampled keeping every spike and NaN. The costliest view (~4 tokens a value): use few keys, fewer samples or a step range."""
        return await runner.text("get_history", ctx, lambda p: views.history_view(
            ws.run(run, p, keys=keys, exact=exact), keys, samples, step_range(step_from, step_to), ws.settings),
            max_tokens)

    async def get_stats(
        ctx: Context,
        run: RunSel = "latest",
        keys: Keys = None,
        exact: Exact = False,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Exact count, min and max with their steps, mean, final and NaN/Inf per key, over every point. ~30 tokens a key."""
        return await runner.text("get_stats", ctx, lambda p: views.stats_view(
            ws.run(run, p, keys=keys, exact=exact), keys, None, ws.settings), max_tokens)

    async def compare_runs(
        ctx: Context,
        run_a: Annotated[str, Field(max_length=TEXT_CAP, description="run, or run@STEP (e.g. abc1@50k)")],
        run_b: Annotated[str, Field(max_length=TEXT_CAP, description="run, or run@STEP")],
        filter: Filter = None,
        threshold_pct: Annotated[float | None, Field(ge=0, le=1e6, description="only changes of at least this %")] = None,
        group: Annotated[bool, Field(description="group by prefix")] = False,
        config_diff: Annotated[bool, Field(description="add config differences")] = False,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Two runs side by side: final values (or at @STEP), delta, % change, which is better. ~20 tokens a metric."""

        def work(p: Progress) -> Any:
            sel_a, at_a = parse_run_at(run_a)
            sel_b, at_b = parse_run_at(run_b)
            return views.compare_view(ws.run(sel_a, p), ws.run(sel_b, p), at_a, at_b, None, filter,
                                      threshold_pct, group, config_diff, settings=ws.settings)

        return await runner.text("compare_runs", ctx, work, max_tokens)

    async def detect_anomalies(
        ctx: Context,
        run: RunSel = "latest",
        keys: Keys = None,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Spikes, NaN/Inf, divergence, overfitting, plateaus, gradient and throughput trouble, judged on every point of every key (or keys); says 'none found in N keys' when healthy. ~30 tokens a finding."""
        return await runner.text("detect_anomalies", ctx, lambda p: ws.anomalies(ws.run(run, p, keys=keys), keys), max_tokens)

    async def live_status(
        ctx: Context,
        run: Annotated[str | None, Field(max_length=TEXT_CAP,
                                         description="default: the newest running run")] = None,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Is it still training: step, steps/s, ETA, latest values, console tail. ~200 tokens."""
        return await runner.text("live_status", ctx, lambda p: ws.live(run, p), max_tokens)

    async def get_config(
        ctx: Context,
        run: RunSel = "latest",
        filter: Filter = None,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """A run's config (hyperparameters), flattened. ~10 tokens a key."""
        return await runner.text("get_config", ctx, lambda p: views.config_view(ws.run(run, p), filter), max_tokens)

    async def find_best_run(
        ctx: Context,
        metric: Annotated[str, Field(max_length=TEXT_CAP, description="metric key, e.g. val/loss")],
        higher_is_better: Annotated[bool | None, Field(description="default: from the key (loss lower, acc higher)")] = None,
        limit: Annotated[int, Field(ge=1, le=LIST_LIMIT_CAP, description="runs to show")] = 10,
        wandb_project: Project = None,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """Rank all runs by the best value each reached for one metric. Reads every run."""
        return await runner.text("find_best_run", ctx, lambda p: ws.best(metric, higher_is_better, limit, p,
                                                                          wandb_project), max_tokens)

    async def analyze_local_log(
        ctx: Context,
        path: Annotated[str, Field(max_length=PATH_CAP, description="file under the server's roots")],
        view: Annotated[Literal["summary", "keys", "history", "stats"], Field(description="zoom level")] = "summary",
        part: Annotated[int | None, Field(ge=1, le=10_000, description="which appended run (default: last)")] = None,
        keys: Annotated[list[Key] | None, Field(min_length=1, max_length=HISTORY_KEYS_CAP,
                                                description="metric keys (view=keys lists them)")] = None,
        samples: Samples = views.DEFAULT_SAMPLES,
        step_from: StepFrom = None,
        step_to: StepTo = None,
        anomalies: Annotated[bool, Field(description="detect anomalies (summary)")] = True,
        max_tokens: MaxTokens = MAX_TOKENS_DEFAULT,
    ) -> str:
        """A JSONL or CSV metric log file, at the zoom level asked (same views as the run tools)."""
        def work(p: Progress) -> Any:
            rng = step_range(step_from, step_to)
            r = ws.local_run(path, part, p)
            if view == "keys":
                return views.keys_view(r)
            if view == "history":
                return views.history_view(r, keys, samples, rng, ws.settings)
            if view == "stats":
                return views.stats_view(r, keys, rng, ws.settings)
            return views.run_view(r, keys, anomalies=anomalies, settings=ws.settings)

        return await runner.text("analyze_local_log", ctx, work, max_tokens)

    fns: list[Callable[..., Any]] = [list_runs, summarize_run, get_keys, get_history, get_stats, compare_runs,
                                     detect_anomalies, live_status, get_config, find_best_run, analyze_local_log]
    # Open world only where W&B may be reached: the run tools of a server given a W&B project
    # (without one, the server never touches the network and refuses W&B names).
    cloud = READ_ONLY_CLOUD if ws.wandb_project else READ_ONLY
    return [strict(Tool.from_function(fn, annotations=READ_ONLY if fn is analyze_local_log else cloud,
                                      structured_output=False)) for fn in fns]


def strict(tool: Tool) -> Tool:
    """``tool`` refusing argument names it does not know, and saying so in its schema.

    pydantic ignores unknown names by default, so a misspelt ``key`` for ``keys`` would
    silently answer a different question; refused, the model reads the name it got wrong.
    The SDK reads ``fn_metadata.arg_model`` at each call, so a stricter subclass takes effect.
    """
    base = tool.fn_metadata.arg_model
    tool.fn_metadata.arg_model = type(base.__name__, (base,), {
        "__module__": base.__module__,
        "model_config": ConfigDict(arbitrary_types_allowed=True, extra="forbid"),
    })
    tool.parameters = {**compact(tool.parameters), "additionalProperties": False}
    return tool
