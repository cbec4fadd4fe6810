"""Key roles are recognised by their words, whatever the logger called them."""

from __future__ import annotations

import pytest

from runwise_core.analysis.roles import (
    Role,
    higher_is_better,
    role_of,
    train_counterpart,
    train_val_pairs,
    training_loss_key,
)
from runwise_core.settings import settings_from_mapping


@pytest.mark.parametrize(
    "key, role",
    [
        ("train/loss", Role.TRAIN_LOSS),
        ("loss", Role.TRAIN_LOSS),
        ("train_loss", Role.TRAIN_LOSS),
        ("train_loss_step", Role.TRAIN_LOSS),
        ("train_loss_epoch", Role.TRAIN_LOSS),
        ("train_loss_local", Role.TRAIN_LOSS),
        ("val/loss", Role.VAL_LOSS),
        ("val_loss", Role.VAL_LOSS),
        ("eval_loss", Role.VAL_LOSS),
        ("valid/loss", Role.VAL_LOSS),
        ("test/loss", Role.VAL_LOSS),
        ("val.loss", Role.VAL_LOSS),
        ("train_loss_ce", Role.LOSS),
        ("episode/MSE Loss", Role.LOSS),
        ("val/ppl", Role.LOSS),
        ("eval_wer", Role.LOSS),
        ("test_acc", Role.ACCURACY),
        ("accuracy", Role.ACCURACY),
        ("top1", Role.ACCURACY),
        ("exact_match", Role.ACCURACY),
        ("reward", Role.ACCURACY),
        ("episode/Return", Role.ACCURACY),
        ("episode_reward", Role.ACCURACY),
        ("eval_rouge-1", Role.ACCURACY),
        ("rewards/accuracies", Role.ACCURACY),
        ("rewards/rejected", Role.OTHER),
        ("reward_std", Role.OTHER),
        ("lr", Role.LR),
        ("train/lr", Role.LR),
        ("learning_rate", Role.LR),
        ("grad_norm", Role.GRAD_NORM),
        ("gradient_norm", Role.GRAD_NORM),
        ("grad/norm", Role.GRAD_NORM),
        ("grad_norm_square", Role.GRAD_NORM),
        ("samples_per_sec", Role.THROUGHPUT),
        ("tokens_per_sec", Role.THROUGHPUT),
        ("it/s", Role.THROUGHPUT),
        ("steps_per_sec", Role.THROUGHPUT),
        ("throughput", Role.THROUGHPUT),
        ("train_samples_per_second", Role.THROUGHPUT),
        ("charts/SPS", Role.THROUGHPUT),
        ("perf/fps", Role.THROUGHPUT),
        ("Loss/train", Role.TRAIN_LOSS),
        ("Loss/val", Role.VAL_LOSS),
        ("Accuracy/test", Role.ACCURACY),
        ("optimizer/lr-AdamW", Role.LR),
        ("charts/episodic_return", Role.ACCURACY),
        ("losses/value_loss", Role.LOSS),
        ("gradient/global_norm", Role.GRAD_NORM),
        ("eval_runtime", Role.OTHER),
        ("train/loss_avg", Role.TRAIN_LOSS),
        ("nb_steps", Role.OTHER),
        ("nb_episode_steps", Role.OTHER),
        ("epoch", Role.OTHER),
        ("_step", Role.OTHER),
        ("train/update_step", Role.OTHER),
        ("entropy", Role.OTHER),
    ],
)
def test_role_of_recognises_key_by_words(key: str, role: Role) -> None:
    assert role_of(key) is role


@pytest.mark.parametrize(
    "key, expected",
    [("val_loss", False), ("test_acc", True), ("tokens_per_sec", True), ("grad_norm", None), ("lr", None), ("epoch", None)],
)
def test_higher_is_better_follows_role(key: str, expected: bool | None) -> None:
    assert higher_is_better(key) is expected


def test_settings_override_role_and_direction_including_patterns() -> None:
    settings = settings_from_mapping(
        {"roles": {"my_metric": "val_loss", "custom/*": "accuracy"}, "directions": {"score_x": "lower"}}
    )
    assert role_of("my_metric", settings) is Role.VAL_LOSS
    assert role_of("custom/thing", settings) is Role.ACCURACY
    assert higher_is_better("custom/thing", settings) is True
    assert higher_is_better("score_x", settings) is False
    assert higher_is_better("score_x") is True


@pytest.mark.parametrize(
    "val_key, keys, expected",
    [
        ("val/loss", ["train/loss", "val/loss", "lr"], "train/loss"),
        ("eval_loss", ["loss", "eval_loss", "grad_norm"], "loss"),
        ("val_loss", ["train_loss_epoch", "train_loss_step", "val_loss"], "train_loss_step"),
        ("test_acc", ["test_acc", "train_acc", "train_loss"], "train_acc"),
        ("val/loss", ["loss", "train/loss", "val/loss"], "train/loss"),
        ("valid/loss", ["train_loss_local", "valid/loss"], "train_loss_local"),
        ("test_acc", ["test_acc", "train_loss"], None),
    ],
)
def test_train_counterpart_pairs_validation_with_training(val_key: str, keys: list[str], expected: str | None) -> None:
    assert train_counterpart(val_key, keys) == expected


def test_train_val_pairs_lists_every_pair() -> None:
    keys = ["train/loss", "val/loss", "train/acc", "val/acc", "lr"]
    assert train_val_pairs(keys) == [("train/loss", "val/loss"), ("train/acc", "val/acc")]


def test_training_loss_key_prefers_plain_then_step_then_epoch() -> None:
    assert training_loss_key(["train_loss_epoch", "train_loss_step", "val_loss"]) == "train_loss_step"
    assert training_loss_key(["loss", "train/loss", "eval_loss"]) == "train/loss"
    assert training_loss_key(["val_loss", "lr"]) is None
