"""The HF Trainer reader on the Trainer's own layout and on the real trainer_state.json files."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runwise_core.errors import UnreadableLog
from runwise_core.model import RunState
from runwise_core.sources.hf_trainer import SOURCE

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"


@dataclass
class TrainerState:
    """The fields of ``transformers.TrainerState`` (4.4x) and its ``save_to_json``."""

    epoch: float | None = None
    global_step: int = 0
    max_steps: int = 0
    logging_steps: int = 500
    eval_steps: int = 500
    save_steps: int = 500
    train_batch_size: int | None = None
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0
    log_history: list[dict[str, Any]] = field(default_factory=list)
    best_metric: float | None = None
    best_global_step: int | None = None
    best_model_checkpoint: str | None = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: str | None = None
    trial_params: dict | None = None
    stateful_callbacks: dict = field(default_factory=dict)

    def save_to_json(self, json_path: Path) -> None:
        json_string = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json_string, encoding="utf-8")


def trainer_log(state: TrainerState, logs: dict[str, float]) -> None:
    """What ``Trainer.log`` appends: the logs plus the rounded epoch and the global step."""
    state.log_history.append({**logs, "epoch": round(state.epoch, 2), "step": state.global_step})


def simulated_training(max_steps: int = 40, until: int = 40) -> TrainerState:
    state = TrainerState(max_steps=max_steps, logging_steps=10, eval_steps=20, num_train_epochs=2, train_batch_size=8)
    for step in range(1, until + 1):
        state.global_step, state.epoch = step, step / 20
        if step % 10 == 0:
            trainer_log(state, {"loss": 2.0 / step, "grad_norm": 1.5, "learning_rate": 1e-4 * (1 - step / max_steps)})
        if step % 20 == 0:
            trainer_log(state, {"eval_loss": 3.0 / step, "eval_runtime": 1.25})
    if until == max_steps:
        trainer_log(state, {"train_runtime": 12.5, "train_loss": 0.123, "total_flos": 1e12,
                            "train_samples_per_second": 3.2})
    return state


def scan(folder: Path):
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    subdirs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    return SOURCE.scan(folder, files, subdirs), subdirs


def test_finished_trainer_run_has_curves_summary_config_and_state(tmp_path: Path) -> None:
    simulated_training().save_to_json(tmp_path / "out" / "trainer_state.json")
    (ref,), _ = scan(tmp_path / "out")
    run = SOURCE.load(ref)
    assert run.source == "hf-trainer" and run.records_exits is False
    assert run.metrics["loss"].steps.tolist() == [10, 20, 30, 40]
    assert run.metrics["loss"].values.tolist() == [0.2, 0.1, 2.0 / 30, 0.05]
    assert run.metrics["eval_loss"].steps.tolist() == [20, 40]
    assert run.metrics["epoch"].steps.tolist() == [10, 20, 30, 40]  # one point per step
    assert run.metrics["epoch"].values.tolist() == [0.5, 1.0, 1.5, 2.0]
    # the final summary entry is not a point on any curve
    assert "train_loss" not in run.metrics and "train_runtime" not in run.metrics
    assert run.summary["train_loss"] == 0.123 and run.summary["train_runtime"] == 12.5
    assert run.rows == 7 and run.last_step == 40 and run.total_steps == 40
    assert run.reached_total is True
    assert run.state() is RunState.FINISHED
    assert run.config["logging_steps"] == 10 and run.config["max_steps"] == 40
    assert "log_history" not in run.config and "global_step" not in run.config


def test_checkpoint_before_max_steps_is_running_then_unknown(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    simulated_training(max_steps=40, until=20).save_to_json(path)
    (ref,), _ = scan(tmp_path)
    run = SOURCE.load(ref)
    assert run.reached_total is False and run.total_steps == 40 and run.last_step == 20
    assert run.state() is RunState.RUNNING
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert SOURCE.load(ref).state() is RunState.UNKNOWN


def test_entries_without_step_attach_to_the_entry_before(tmp_path: Path) -> None:
    state = simulated_training(max_steps=40, until=40)
    # Seq2SeqTrainer.predict after each eval logs predict_* with no step
    history = []
    for entry in state.log_history:
        history.append(entry)
        if "eval_loss" in entry:
            history.append({"epoch": entry["epoch"], "predict_loss": entry["eval_loss"] / 2})
    state.log_history = history
    state.save_to_json(tmp_path / "trainer_state.json")
    run = SOURCE.load(scan(tmp_path)[0][0])
    assert run.metrics["predict_loss"].steps.tolist() == [20, 40]
    assert run.metrics["predict_loss"].values.tolist() == [0.075, 0.0375]
    assert "2 log entries without a step (predict_*) attached to the step of the entry before each" in run.read_notes


def test_epoch_reset_on_resume_is_kept_and_noted(tmp_path: Path) -> None:
    state = TrainerState(max_steps=300, global_step=300, epoch=0.5)
    state.log_history = [{"loss": 1.0, "epoch": e, "step": s} for s, e in
                         [(100, 0.1), (200, 0.2), (250, 0.0), (300, 0.05)]]
    state.save_to_json(tmp_path / "trainer_state.json")
    run = SOURCE.load(scan(tmp_path)[0][0])
    assert run.metrics["epoch"].values.tolist() == [0.1, 0.2, 0.0, 0.05]
    assert "epoch goes back at step 250 (a resumed run)" in run.read_notes


def test_output_folder_with_checkpoints_is_one_run_from_the_newest(tmp_path: Path) -> None:
    out = tmp_path / "output"
    simulated_training(until=20).save_to_json(out / "checkpoint-20" / "trainer_state.json")
    simulated_training(until=30).save_to_json(out / "checkpoint-30" / "trainer_state.json")
    (out / "checkpoint-30" / "config.json").write_text("{}")
    (ref,), subdirs = scan(out)
    assert subdirs == []  # the checkpoints are not walked into: they are this run
    assert ref.paths == (out / "checkpoint-30" / "trainer_state.json",)
    assert ref.name_hint == f"{tmp_path.name}/output"
    run = SOURCE.load(ref)
    assert run.last_step == 30 and run.path == str(out)
    assert "read from checkpoint-30/trainer_state.json, the newest checkpoint" in run.read_notes
    # a final state in the output folder wins over the checkpoints
    simulated_training().save_to_json(out / "trainer_state.json")
    (ref,), _ = scan(out)
    assert ref.paths == (out / "trainer_state.json",)
    assert SOURCE.load(ref).state() is RunState.FINISHED


def test_torn_state_file_keeps_the_complete_entries(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    simulated_training().save_to_json(path)
    text = path.read_text()
    cut = text.index('"eval_loss": 0.075')  # inside the 6th entry, the eval at step 40
    path.write_text(text[:cut])
    run = SOURCE.load(scan(tmp_path)[0][0])
    assert run.metrics["loss"].steps.tolist() == [10, 20, 30, 40]
    assert run.metrics["eval_loss"].steps.tolist() == [20]
    # sort_keys puts global_step before log_history and max_steps after it: that one is lost
    assert run.last_step == 40 and run.total_steps is None
    assert any(n.startswith("trainer_state.json is damaged at byte") and "read the 5 log entries" in n
               for n in run.read_notes)


def test_a_file_that_is_not_a_trainer_state_raises_with_the_path(tmp_path: Path) -> None:
    (tmp_path / "trainer_state.json").write_text("not json at all")
    (ref,), _ = scan(tmp_path)
    with pytest.raises(UnreadableLog, match="trainer_state.json"):
        SOURCE.load(ref)


def _real(rel: str):
    folder = REAL / rel
    if not folder.exists():
        pytest.skip("shared realdata not present")
    refs = []
    for here, subdirs, files in os.walk(folder):  # as the catalog walks: scan may prune subdirs
        subdirs.sort()
        refs += SOURCE.scan(Path(here), sorted(files), subdirs)
    (ref,) = refs
    return SOURCE.load(ref)


def test_real_whisper_resumed_streaming_run() -> None:
    run = _real("whisper_tiny_resumed_streaming_trainer_state")
    assert run.rows == 2101 and run.last_step == 100_000 and run.total_steps == 100_000
    assert run.state() is RunState.FINISHED
    loss, ev, wer = run.metrics["loss"], run.metrics["eval_loss"], run.metrics["eval_wer"]
    assert (len(loss), loss.first_step, loss.values[0], loss.final) == (2000, 50, 2.936, 0.8333)
    assert (len(ev), round(ev.values[0], 2), round(ev.final, 2)) == (100, 1.19, 0.51)
    assert (round(wer.values[0]), wer.final) == (62, 24.96954933008526)
    assert wer.values.min() == run.summary["best_metric"] == 24.878197320341048
    assert "epoch goes back at step 5050, 52050, 66050 (a resumed run)" in run.read_notes
    assert run.config["num_train_epochs"] == 9223372036854775807
    assert run.summary["best_model_checkpoint"] == "./checkpoint-98000"


def test_real_grpo_checkpoint_mid_training() -> None:
    run = _real("grpo_dllm_trainer_state/pretrained_checkpoints")
    assert run.rows == 2000 and run.last_step == 2000 and run.total_steps == 14_973
    assert run.reached_total is False and run.state(now=run.last_activity + 301) is RunState.UNKNOWN
    gn = run.metrics["grad_norm"]
    assert len(gn) == 2000 and int(np.sum(gn.values == 0.0)) == 272
    # keys alternate: even steps carry only these five, odd steps add 19 reward and stat keys
    every_step = {k for k, s in run.metrics.items() if len(s) == 2000}
    assert every_step == {"entropy", "epoch", "grad_norm", "learning_rate", "loss"}
    odd = [s for k, s in run.metrics.items() if k not in every_step]
    assert len(odd) == 19 and all(s.steps.tolist() == list(range(1, 2000, 2)) for s in odd)
    assert len(run.metrics) == 24 and run.config["logging_steps"] == 1
    reward = run.metrics["reward"].values  # the real progress signal: 0.20 -> 0.37 (50-point means)
    assert (round(reward[:50].mean(), 2), round(reward[-50:].mean(), 2)) == (0.20, 0.37)
    loss = run.metrics["loss"].values
    assert np.any((loss == 0.0) & np.signbit(loss))  # -0.0 kept as logged


def test_real_dpo_partial_run() -> None:
    run = _real("dpo_llm_recovery_trainer_state")
    assert run.rows == 20 and run.last_step == 1000 and run.total_steps == 1333
    assert run.reached_total is False and "train_runtime" not in run.summary
    loss, gn = run.metrics["loss"], run.metrics["grad_norm"]
    assert (loss.values[0], loss.final) == (0.6691, 0.1138)
    assert (round(gn.values.min(), 2), round(gn.values.max(), 1)) == (0.99, 28.5)
    assert {"logits/chosen", "logps/rejected", "rewards/accuracies", "rewards/chosen", "rewards/margins",
            "rewards/rejected"} <= set(run.metrics)


def test_real_cpt_seq2seq_with_predict_entries() -> None:
    run = _real("cpt_seq2seq_trainer_state")
    assert run.rows == 31 and run.last_step == 5490 and run.state() is RunState.FINISHED
    assert run.summary["train_runtime"] == 64358.151 and "train_loss" not in run.metrics
    assert len(run.metrics["loss"]) == 10 and len(run.metrics["eval_loss"]) == 10
    assert len(run.metrics["predict_loss"]) == 10
    assert run.metrics["predict_loss"].steps.tolist() == [549, 1098, 1647, 2196, 2745, 3294, 3843, 4392, 4941, 5490]
    ev = run.metrics["eval_loss"]
    assert int(np.argmin(ev.values)) == 5 and round(ev.values.min(), 4) == 0.4853
    assert round(ev.final, 4) == 0.4917
    assert (run.metrics["loss"].values[0], run.metrics["loss"].final) == (1.1409, 0.2645)
    assert {"eval_rouge-1", "eval_rouge-2", "eval_rouge-l", "eval_gen_len"} <= set(run.metrics)
    assert "10 log entries without a step (predict_*) attached to the step of the entry before each" in run.read_notes


def test_results_files_join_the_summary_not_the_curves(tmp_path: Path) -> None:
    simulated_training().save_to_json(tmp_path / "trainer_state.json")
    (tmp_path / "all_results.json").write_text(json.dumps({"eval_loss": 0.01, "train_loss": 9.0, "train_samples": 3290}))
    (tmp_path / "eval_results.json").write_text("{broken")
    run = SOURCE.load(scan(tmp_path)[0][0])
    assert run.summary["eval_loss"] == 0.01 and run.summary["train_samples"] == 3290
    assert run.summary["train_loss"] == 0.123  # the state file's own summary entry wins
    assert run.metrics["eval_loss"].final == 0.075  # the curve is untouched
    assert "eval_results.json: not readable JSON; skipped" in run.read_notes


def test_real_whisper_all_results_hold_the_best_models_eval() -> None:
    run = _real("whisper_tiny_resumed_streaming_trainer_state")
    assert run.summary["eval_wer"] == 24.878197320341048
    assert run.metrics["eval_wer"].final == 24.96954933008526


def test_the_cache_serves_an_unchanged_state_and_rereads_a_rewritten_one(tmp_path: Path, monkeypatch) -> None:
    from runwise_core.cache import RunCache
    from runwise_core.catalog import Catalog
    from runwise_core.sources import hf_trainer

    out = tmp_path / "out"
    simulated_training(until=20).save_to_json(out / "trainer_state.json")
    cache = RunCache(tmp_path / "cache")

    def read(c):
        (run,) = Catalog([out], cache=c).runs()
        return run

    fresh = read(None)
    parses: list[Path] = []
    real = hf_trainer._parse
    monkeypatch.setattr(hf_trainer, "_parse", lambda p: parses.append(p) or real(p))
    first, second = read(cache), read(cache)
    assert len(parses) == 1  # the second read came from the cache
    for run in (first, second):
        assert list(run.metrics) == list(fresh.metrics)
        for key in run.metrics:
            assert run.metrics[key].steps.tolist() == fresh.metrics[key].steps.tolist()
            assert run.metrics[key].values.tolist() == fresh.metrics[key].values.tolist()
        assert (run.summary, run.config, run.read_notes, run.rows, run.total_steps, run.last_step) == \
               (fresh.summary, fresh.config, fresh.read_notes, fresh.rows, fresh.total_steps, fresh.last_step)
    (out / "all_results.json").write_text(json.dumps({"eval_loss": 0.01}))  # a side file: read each time
    assert read(cache).summary["eval_loss"] == 0.01 and len(parses) == 1
    simulated_training(until=40).save_to_json(out / "trainer_state.json")  # the next save rewrites it
    run = read(cache)
    assert len(parses) == 2 and run.last_step == 40 and run.state() is RunState.FINISHED
