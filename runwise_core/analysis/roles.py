"""What a metric key means: its role (training loss, validation loss, accuracy, ...) and direction.

Keys are recognised by their words, not by one exact name: ``train/loss``, ``train_loss``,
``loss`` and ``train_loss_step`` are all the training loss; ``val/loss``, ``eval_loss``,
``valid/loss``, ``test/loss`` and ``val_loss_epoch`` are all the validation loss. A key is
split into lower-case words at ``/ . _ - space`` and camelCase, and the words decide.

Pure and fast (results are cached per key): the CLI calls it to pick a run's key metrics,
the anomaly detectors to pick what to judge and which way is bad. A user's
``[tool.runwise.roles]`` / ``[tool.runwise.directions]`` override everything here.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Iterable
from functools import lru_cache

from ..settings import Settings


class Role(str, enum.Enum):
    """The role of a metric key. The string values are the names used in settings files."""

    TRAIN_LOSS = "train_loss"  # the main training objective
    VAL_LOSS = "val_loss"  # the main validation / eval / test objective
    LOSS = "loss"  # any other lower-is-better metric: loss components, ppl, error, wer, mse
    ACCURACY = "accuracy"  # higher is better: acc, top1, exact_match, f1, bleu, reward, return
    LR = "lr"
    GRAD_NORM = "grad_norm"
    THROUGHPUT = "throughput"  # samples/tokens/steps per second (higher is better)
    OTHER = "other"


LOSS_ROLES = frozenset({Role.TRAIN_LOSS, Role.VAL_LOSS, Role.LOSS})

_VAL_WORDS = frozenset({"val", "valid", "validation", "eval", "evaluation", "test", "dev", "holdout", "heldout"})
_TRAIN_WORDS = frozenset({"train", "training", "tr"})
# Suffixes that say how a value was aggregated, not what it is (Lightning's _step/_epoch).
_AGG_WORDS = frozenset(
    {"step", "epoch", "local", "avg", "mean", "smooth", "smoothed", "ema", "running", "total", "value"}
)
_LOSS_WORDS = frozenset({"loss", "losses", "objective", "cost"})
_LOWER_WORDS = frozenset(
    {"ppl", "perplexity", "nll", "bpb", "bpc", "wer", "cer", "error", "err", "mse", "mae", "rmse", "regret", "fid"}
)
_HIGHER_WORDS = frozenset(
    {
        "acc", "accuracy", "accuracies", "top1", "top5", "exact", "em", "f1", "bleu", "rouge", "rouge1", "rouge2",
        "rougel", "rougelsum", "meteor", "chrf", "map", "ap", "auc", "auroc", "precision", "recall", "reward",
        "rewards", "return", "returns", "score", "win", "winrate", "pass", "success", "iou", "miou", "dice",
        "correct",
    }
)
# Words that make a metric a statistic about a quantity rather than the quantity itself.
_STAT_WORDS = frozenset({"std", "stddev", "var", "variance", "min", "count", "frac", "rejected", "chosen", "margins"})
_THROUGHPUT_PATTERNS = (
    re.compile(
        r"(samples|sample|tokens|token|tok|toks|steps|step|it|iter|iters|images|imgs|examples|seqs|sequences"
        r"|frames|fps)"
        r"\s*(/\s*s(ec(ond)?)?|[_\s]*per[_\s]*s(ec(ond)?)?)$"
    ),
    re.compile(r"throughput"),
)
_RATE_WORDS = frozenset({"sps", "fps", "tps", "throughput"})  # CleanRL's charts/SPS, RL frames/s
_SPLIT = re.compile(r"[/._\-\s:|@]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words(key: str) -> tuple[str, ...]:
    """``'train/lossCE_step'`` -> ``('train', 'loss', 'ce', 'step')``."""
    return tuple(w for w in _SPLIT.split(_CAMEL.sub(" ", key).lower()) if w)


def _override(key: str, table: dict[str, object]) -> object | None:
    if key in table:
        return table[key]
    for pattern, value in table.items():
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(key, pattern):
            return value
    return None


def role_of(key: str, settings: Settings | None = None) -> Role:
    """The role of ``key``; a settings override wins, else the key's words decide."""
    if settings is not None and settings.roles:
        forced = _override(key, settings.roles)  # type: ignore[arg-type]
        if forced is not None:
            return Role(str(forced))
    return _role_from_words(key)


@lru_cache(maxsize=4096)
def _role_from_words(key: str) -> Role:
    w = words(key)
    if not w:
        return Role.OTHER
    joined = "_".join(w)
    if "lr" in w or "learning_rate" in joined or joined.endswith("learning_rate"):
        return Role.LR
    if any(g in w for g in ("grad", "grads", "gradient", "gradients", "gradnorm")) and (
        "norm" in w or "gradnorm" in w or "norms" in w
    ):
        return Role.GRAD_NORM
    low = key.lower()
    if any(p.search(low) for p in _THROUGHPUT_PATTERNS) or any(x in _RATE_WORDS for x in w):
        return Role.THROUGHPUT
    if any(s in w for s in _STAT_WORDS):
        return Role.OTHER
    is_val = any(v in w for v in _VAL_WORDS)
    is_loss = any(x in _LOSS_WORDS or x.endswith("loss") for x in w)
    if is_loss:
        core = [x for x in w if x not in _VAL_WORDS and x not in _TRAIN_WORDS and x not in _AGG_WORDS]
        main = core in (["loss"], ["losses"], ["objective"])
        if main:
            return Role.VAL_LOSS if is_val else Role.TRAIN_LOSS
        return Role.LOSS
    if any(x in _LOWER_WORDS for x in w):
        return Role.LOSS
    if any(x in _HIGHER_WORDS for x in w) or "exact_match" in joined or "top_1" in joined:
        return Role.ACCURACY
    return Role.OTHER


def higher_is_better(key: str, settings: Settings | None = None) -> bool | None:
    """``True`` for accuracy-like and throughput keys, ``False`` for loss-like ones, else ``None``.

    A ``[tool.runwise.directions]`` entry wins over the role. ``None`` means runwise does not
    know which way is good (lr, grad_norm, epoch, ...) and judges no direction for it.
    """
    if settings is not None and settings.directions:
        forced = _override(key, settings.directions)  # type: ignore[arg-type]
        if forced is not None:
            return bool(forced)
    role = role_of(key, settings)
    if role in LOSS_ROLES:
        return False
    if role in (Role.ACCURACY, Role.THROUGHPUT):
        return True
    return None


def is_validation(key: str) -> bool:
    """Whether the key names a validation / eval / test quantity."""
    return any(v in _VAL_WORDS for v in words(key))


def _stem(key: str) -> tuple[str, ...]:
    """The key's words without split qualifiers (train/val/...) and aggregation suffixes."""
    return tuple(x for x in words(key) if x not in _VAL_WORDS and x not in _TRAIN_WORDS and x not in _AGG_WORDS)


def _train_preference(key: str) -> tuple[int, int, int]:
    """Lower is preferred: a plain key, then a per-step series, then a per-epoch one; among
    those, one that says ``train`` (``train/loss`` over ``loss`` for ``val/loss``)."""
    w = words(key)
    agg = 0 if not any(x in _AGG_WORDS for x in w) else (1 if "step" in w else 2)
    return (agg, 0 if any(x in _TRAIN_WORDS for x in w) else 1, len(key))


def train_counterpart(val_key: str, keys: Iterable[str], settings: Settings | None = None) -> str | None:
    """The training key that matches a validation key, or ``None``.

    ``val/loss`` -> ``train/loss``; ``eval_loss`` -> ``loss``; ``val_loss`` ->
    ``train_loss_step`` (dense) before ``train_loss_epoch``; ``test_acc`` -> ``train_acc``.
    Matching is on the words left after removing split and aggregation words. When no key
    matches by words, a validation loss pairs with the only training loss there is.
    """
    pool = [k for k in keys if k != val_key and not is_validation(k)]
    stem = _stem(val_key)
    matches = [k for k in pool if _stem(k) == stem and role_of(k, settings) not in (Role.LR, Role.OTHER)]
    if matches:
        return min(matches, key=_train_preference)
    if role_of(val_key, settings) is Role.VAL_LOSS:
        train = [k for k in pool if role_of(k, settings) is Role.TRAIN_LOSS]
        if train and len({_stem(k) for k in train}) == 1:
            return min(train, key=_train_preference)
    return None


def training_loss_key(keys: Iterable[str], settings: Settings | None = None) -> str | None:
    """The run's main training loss: among keys with role ``train_loss``, a plain key first,
    then a per-step one, then a per-epoch one (``train/loss`` before ``loss`` when both exist).
    ``None`` when there is none."""
    train = [k for k in keys if role_of(k, settings) is Role.TRAIN_LOSS]
    return min(train, key=_train_preference) if train else None


def train_val_pairs(keys: Iterable[str], settings: Settings | None = None) -> list[tuple[str, str]]:
    """Every (training key, validation key) pair among ``keys``, in the order of the val keys."""
    keys = list(keys)
    pairs: list[tuple[str, str]] = []
    for k in keys:
        if is_validation(k) and role_of(k, settings) in (Role.VAL_LOSS, Role.LOSS, Role.ACCURACY):
            t = train_counterpart(k, keys, settings)
            if t is not None:
                pairs.append((t, k))
    return pairs
