"""Every W&B run in ../shared/realdata, checked against the facts its README gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwise_core.catalog import Catalog

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not beside the checkout")

# run id -> (folder, state, history rows), from the README's table.
TABLE = {
    "t2wihhdg": ("aorvieto_vst_wandb014", "failed", 2912),
    "5pppfjv9": ("aorvieto_vst_wandb014", "crashed", 3987),
    "kj3gdsjx": ("auroraechos_tinylm_wandb0242", "finished", 2145),
    "79u2qtit": ("lossplateau_wandb024", "failed", 41),
    "apxr0e2p": ("lossplateau_wandb024", "failed", 0),
    "ohb7bv9d": ("c4rl_wandb08", "finished", 8302),
    "0f3q319t": ("c4rl_wandb08", "crashed", 2090),
}


@pytest.fixture(scope="module")
def catalog():
    return Catalog([REALDATA / folder for folder in sorted({f for f, _, _ in TABLE.values()})])


@pytest.mark.parametrize("run_id", sorted(TABLE))
def test_state_and_rows_match_the_readme(catalog, run_id):
    folder, state, rows = TABLE[run_id]
    run = catalog.load(catalog.select(run_id))
    assert run.state().value == state
    assert run.rows == rows
    assert Path(run.path).parent.parent.name == folder


def test_exit_codes(catalog):
    codes = {rid: catalog.load(catalog.select(rid)).exit_code for rid in TABLE}
    assert codes == {"t2wihhdg": 255, "5pppfjv9": None, "kj3gdsjx": 0, "79u2qtit": 255, "apxr0e2p": 1,
                     "ohb7bv9d": 0, "0f3q319t": None}


def test_truncated_run_says_where_it_stopped(catalog):
    run = catalog.load(catalog.select("5pppfjv9"))
    assert run.read_notes == ["the last record is incomplete (still being written, or cut) at byte 1,310,275; "
                              "read up to byte 1,310,275"]
    # The summary file claims more than the log holds; the log's facts win for metrics.
    assert run.summary["_step"] == 62509 and run.summary["test_acc_epoch"] == 0.7808
    assert run.last_step == 3986 and "test_acc_epoch" not in run.metrics


def test_vst_keys_and_loss_stuck_at_ln2(catalog):
    run = catalog.load(catalog.select("t2wihhdg"))
    assert set(run.metrics) == {"train_loss_local", "grad_norm_square", "lr"}
    assert abs(run.metrics["train_loss_local"].final - 0.6931) < 0.01
    g = run.metrics["grad_norm_square"].values
    assert g.max() > 900 and g.min() < 1e-6


def test_tinylm_steps_strides_and_sparse_validation(catalog):
    run = catalog.load(catalog.select("kj3gdsjx"))
    loss = run.metrics["train/loss"]
    assert loss.first_step == 0 and loss.last_step == 107123 and run.last_step == 107124
    assert round(loss.values[0], 2) == 8.95 and round(loss.final, 2) == 3.64
    assert len(run.metrics["val/loss"]) == 1 and len(run.metrics["val/ppl"]) == 1
    assert run.name == "tinylm_pretrain_512d_8L"
    update = run.metrics["train/update_step"]
    assert (update.values == update.steps // 8).all()


def test_lossplateau_keys_media_and_strings(catalog):
    run = catalog.load(catalog.select("79u2qtit"))
    # 108 raw history keys: _step, _runtime, _timestamp, 72 numbers, and 4 images whose
    # 29 fields (path, sha256, width, ...) fold into their 4 keys, 4 strings and 1 None.
    assert len(run.metrics) == 72
    assert sorted(run.non_scalar.items()) == sorted(
        [(f"{p}{k}", "image") for p in ("", "MovingWindowQuotient/") for k in ("cosine_sim_fig", "head_0_avg_attention")]
        + [(f"{p}{k}", "string") for p in ("", "MovingWindowQuotient/") for k in ("input_seq", "output_seq")]
        + [("att_prog_measure", "null")])
    loss = run.metrics["MovingWindowQuotient/train_loss"]  # the README's 2.65 -> 1.52, all 41 rows
    assert len(loss) == 41
    assert loss.values[0] == pytest.approx(2.65, abs=0.01) and loss.final == pytest.approx(1.52, abs=0.01)


def test_crashed_at_startup_run_has_console_error(catalog):
    run = catalog.load(catalog.select("apxr0e2p"))
    assert run.metrics == {} and run.rows == 0
    assert any("RuntimeError" in line for line in run.console_tail)


def test_legacy_c4rl_keys_and_noisy_reward(catalog):
    run = catalog.load(catalog.select("ohb7bv9d"))
    assert set(run.metrics) == {"epoch", "episode_reward", "nb_episode_steps", "nb_steps"}
    reward = run.metrics["episode_reward"].values
    assert reward.min() == -2037 and reward.max() == 2001
    assert run.summary["graph"]["_type"] == "graph"
