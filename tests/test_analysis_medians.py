"""analysis.medians gives np.median's answers bit for bit (signed zeros and NaN included)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwise_core.analysis.medians import median, row_medians

ODD_VALUES = [0.0, -0.0, 1.0, -1.0, 2.5, 1e-300, -1e300, float("nan"), float("inf"), -float("inf")]


def _arrays(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    smooth = np.cos(np.linspace(0, 3, n))
    noisy = rng.standard_normal(n)
    ties = np.round(noisy, 0)
    zeros = rng.choice([0.0, -0.0, 1.0, -1.0], n)
    signed_zeros = rng.choice([0.0, -0.0], n)
    # zeros of one sign only take the fast path even when the median is zero
    one_signed = [np.abs(zeros), -np.abs(zeros), np.abs(signed_zeros), -np.abs(signed_zeros)]
    out = [smooth, smooth[::-1].copy(), noisy, ties, zeros, signed_zeros, *one_signed, np.sort(noisy)]
    for base in (noisy, ties):
        spiked = base.copy()
        spiked[rng.integers(0, n, 3)] = rng.choice(ODD_VALUES[6:], 3)
        out.append(spiked)
    return out


@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 1000, 1001, 65_536, 100_001])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # np.median itself, on inf - inf
def test_median_is_np_median_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for a in _arrays(rng, n):
        assert median(a).tobytes() == np.median(a).tobytes(), a[:10]


@pytest.mark.parametrize("shape", [(1, 300), (300, 1), (3, 2), (5000, 200), (200, 5000), (31, 33), (64, 257)])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_row_medians_are_np_median_bit_for_bit(shape):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    rows, cols = shape
    for a in _arrays(rng, rows * cols):
        grid = a.reshape(rows, cols)
        assert row_medians(grid).tobytes() == np.median(grid, axis=1).tobytes()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ODD_VALUES) | st.floats(-10, 10), min_size=256, max_size=700), st.integers(1, 4))
def test_any_values_give_np_median(values, rows):
    a = np.array(values, dtype=np.float64)
    assert median(a).tobytes() == np.median(a).tobytes()
    grid = a[: a.size // rows * rows].reshape(rows, -1)
    assert row_medians(grid).tobytes() == np.median(grid, axis=1).tobytes()


def test_other_dtypes_and_shapes_go_to_np_median():
    ints = np.arange(1001, dtype=np.int64) * (2**40)
    assert median(ints) == np.median(ints)
    assert median(np.float32([1, 2, 3])) == np.median(np.float32([1, 2, 3]))
