"""Run the anomaly detectors on ../shared/realdata and compare with what its README says.

    .venv/bin/python benchmarks/anomalies/realdata.py [REALDATA_DIR]

Runs are read with ``runwise_core.catalog.Catalog`` (the real readers), one folder at a time.
Each expectation names a folder, a run id (or id prefix), and what a correct detector does:
``want`` findings (kind, metric) that must appear, ``forbid`` kinds that must not appear
(``"*"``: nothing at all). A run the readers do not load yet is listed as "not read".
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from runwise_core.analysis.anomalies import Anomaly, detect_anomalies
from runwise_core.catalog import Catalog

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "shared" / "realdata"


@dataclass(frozen=True)
class Expectation:
    folder: str
    run: str  # id prefix
    why: str  # what the realdata README says
    want: tuple[tuple[str, str], ...] = ()
    forbid: tuple[str, ...] = ()
    judged: str = ""  # where runwise's verdict differs from the README's wording, and why


EXPECTATIONS: tuple[Expectation, ...] = (
    Expectation("aorvieto_vst_wandb014", "t2wihhdg", "loss stuck near ln 2; grad_norm_square spiky",
                want=(("plateau", "train_loss_local"),), forbid=("divergence", "gradient")),
    Expectation("aorvieto_vst_wandb014", "5pppfjv9", "truncated run (no anomaly named)"),
    Expectation("auroraechos_tinylm_wandb0242", "kj3gdsjx", "healthy baseline", forbid=("*",)),
    Expectation("lossplateau_wandb024", "79u2qtit", "killed on a plateau: test_acc flat, train_loss falling",
                want=(("plateau", "test_acc"),), forbid=("overfitting", "divergence")),
    Expectation("c4rl_wandb08", "ohb7bv9d", "very noisy RL reward", forbid=("*",)),
    Expectation("c4rl_wandb08", "0f3q319t", "noisy RL reward, killed", forbid=("*",)),
    Expectation("slm_lightning_csv", "version_0", "healthy LM pretraining", forbid=("*",)),
    Expectation("slm_lightning_csv", "version_5", "val_loss rises 3.563 -> 3.604 (README: overfitting)",
                want=(("plateau", "train_loss_step"),), forbid=("overfitting", "divergence"),
                judged="not overfitting: train loss rises with val (train_loss_epoch 3.670 -> 3.719), "
                       "the gap does not open; the run made no progress, which is what runwise says"),
    Expectation("slm_lightning_csv", "version_8", "interrupted mid-epoch", forbid=("*",)),
    Expectation("lstm_textgen_tensorboard", "", "healthy long curve that flattens", forbid=("*",)),
    Expectation("naf_dqn_lunarlander_tensorboard", "", "very noisy RL returns", forbid=("*",)),
    Expectation("whisper_tiny_resumed_streaming_trainer_state", "", "healthy, resumed (epoch resets)",
                forbid=("*",)),
    Expectation("grpo_dllm_trainer_state", "", "272 of 2,000 grad_norm exactly 0.0; loss about 0",
                forbid=("gradient", "divergence", "plateau", "spike"),
                judged="zeros come in scattered pairs (GRPO groups with no reward variance), the norm's "
                       "median never falls: not vanishing; a surrogate loss about 0 carries no level"),
    Expectation("dpo_llm_recovery_trainer_state", "", "grad_norm spiky 0.99-28.5, loss 0.669 -> 0.114",
                forbid=("gradient", "divergence", "plateau")),
    Expectation("cpt_seq2seq_trainer_state", "", "eval_loss lowest at epoch 6, then drifts up",
                want=(("overfitting", "eval_loss"),)),
    Expectation("detr_jsonl_two_runs_appended", "", "two runs appended (no anomaly named)"),
)


@dataclass
class Outcome:
    exp: Expectation
    run_id: str | None
    found: list[Anomaly] = field(default_factory=list)
    ok: bool | None = None  # None: not read
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def judge(exp: Expectation, found: list[Anomaly]) -> list[str]:
    """What is wrong with ``found`` for ``exp`` (empty: as expected)."""
    problems = []
    got = {(a.kind, a.metric) for a in found}
    for want in exp.want:
        if want not in got:
            problems.append(f"missing {want[0]} on {want[1]}")
    for a in found:
        if "*" in exp.forbid or a.kind in exp.forbid:
            problems.append(f"unexpected {a.kind} on {a.metric}")
    return problems


def evaluate(root: Path) -> list[Outcome]:
    out: list[Outcome] = []
    cache: dict[str, list] = {}
    for exp in EXPECTATIONS:
        folder = root / exp.folder
        if exp.folder not in cache:
            cache[exp.folder] = Catalog([folder]).runs() if folder.is_dir() else []
        runs = [r for r in cache[exp.folder] if r.id.startswith(exp.run)] if exp.run else cache[exp.folder]
        if not runs:
            out.append(Outcome(exp, None))
            continue
        for run in runs:
            t0 = time.perf_counter()
            found = detect_anomalies(run)
            problems = judge(exp, found)
            out.append(Outcome(exp, run.id, found, not problems, problems, time.perf_counter() - t0))
    return out


def report(outcomes: list[Outcome]) -> str:
    lines = ["| folder | run | README says | runwise reports | verdict |", "|---|---|---|---|---|"]
    for o in outcomes:
        if o.run_id is None:
            lines.append(f"| {o.exp.folder} | {o.exp.run or '-'} | {o.exp.why} | (not read) | - |")
            continue
        said = "<br>".join(f"{a.kind}: {a.message}" for a in o.found) or "nothing"
        verdict = ("as expected" if o.ok else "; ".join(o.problems)) + (f" ({o.exp.judged})" if o.exp.judged else "")
        lines.append(f"| {o.exp.folder} | {o.run_id} | {o.exp.why} | {said} | {verdict} |")
    read = [o for o in outcomes if o.run_id is not None]
    good = sum(bool(o.ok) for o in read)
    lines.append("")
    lines.append(f"{good} of {len(read)} runs read as expected; {len(outcomes) - len(read)} expectations not read.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else DEFAULT_DIR
    print(report(evaluate(root)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
