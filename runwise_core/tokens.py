"""A conservative token estimate, so ``--max-tokens`` holds without a tokenizer at runtime.

Budgets are measured with a Claude-family BPE tokenizer (``../shared/tools/count_tokens.py``),
but the core must not depend on ``tokenizers``. :func:`estimate` splits text the way BPE
tokenizers roughly do (letter runs, digit groups, punctuation, whitespace, other characters)
and charges each piece at or above what the real tokenizer charges. It over-counts on
purpose: a budget may be under-used, never exceeded. ``tests/test_render_budget.py`` checks
the bound against the real ruler on every renderer's output.
"""

from __future__ import annotations

import math
import re

_PIECES = re.compile(
    r"(?P<word>[A-Za-z]+)"
    r"|(?P<digits>\d+)"
    r"|(?P<other> ?[^\x00-\x7f])"
    r"|(?P<space>[ \t]+)"
    r"|(?P<newline>\n+)"
    r"|(?P<ascii>[!-/:-@\[-`{-~])"
)

#: Measured costs of the non-ASCII characters runwise prints (alone / after a space);
#: any other character is charged 3 / 4, the most a character costs in the ruler.
_GLYPHS: dict[str, tuple[int, int]] = {
    **{ch: (2, 2) for ch in "▁▂▃▅▆▇"},
    **{ch: (1, 2) for ch in "▄█"},
    **{ch: (2, 3) for ch in "↓↑"},
    **{ch: (2, 2) for ch in "→×·–…—Δ≥"},
}

#: Words runwise prints often that are one token each in the ruler's vocabulary (checked by
#: the test), so the estimate need not charge them as unknown words.
COMMON_WORDS = frozenset(
    "run runs finished running failed  unknown step steps points point metrics metric key keys "
    "loss train val final best trend  first last stats exact history rows row config compare values "
    "value min max mean count state name left out more with and the of in to for at over every all "
    " match  spike    gradient throughput stable moderate "
    "noisy window slope status only identical missing latest live group tags exit error accuracy acc "
    "samples sec per rate lr grad norm model".split()
)

#: Calibrated against the ruler (see the test); the margin covers what calibration missed.
SAFETY = 1.1


def estimate(text: str) -> int:
    """An upper estimate of the tokens in ``text`` (never below the real count in tests)."""
    total = 0.0
    for m in _PIECES.finditer(text):
        kind = m.lastgroup
        n = m.end() - m.start()
        if kind == "word":
            # Random-looking letter runs (run ids) split into ~2-letter pieces; words into ~3+.
            vowels = sum(1 for ch in m.group() if ch in "aeiouyAEIOUY")
            if m.group() in COMMON_WORDS:
                total += 1
            elif n <= 3:
                total += 1 if vowels else math.ceil(n / 1.5)
            elif vowels < 0.3 * n:
                total += math.ceil(n / 2)
            elif n <= 6:
                total += 2
            else:
                total += math.ceil(n / 3)
        elif kind == "digits":
            total += math.ceil(n / 3) + (0.5 if n > 3 else 0.0)
        elif kind == "space":
            total += 0.2 if n == 1 else math.ceil(n / 8)  # one space joins the next token
        elif kind == "newline":
            total += n
        elif kind == "ascii":
            total += 1
        else:
            text = m.group()
            alone, spaced = _GLYPHS.get(text[-1], (3, 4))
            total += spaced if len(text) == 2 else alone
    # Characters no group matches (control characters) cost one each.
    matched = sum(m.end() - m.start() for m in _PIECES.finditer(text))
    total += len(text) - matched
    return int(math.ceil(total * SAFETY))
