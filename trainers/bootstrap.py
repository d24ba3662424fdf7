"""Bootstrap confidence intervals for held-out scores: one model's mean, and the paired difference of two models.

Percentile intervals over items (resampled with replacement, a fixed seed, so the same scores give the same
interval). The paired version resamples items once for both models, so what two models share — the items that are
hard or easy for both — cancels out of the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap percentile interval; `level` 0.95 is a 95% interval."""

    mean: float
    low: float
    high: float
    level: float
    items: int
    resamples: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _percentiles(means: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _resample_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    return np.asarray(values[idx].mean(axis=1))


def _check(values: Sequence[float], resamples: int, level: float) -> np.ndarray:
    if len(values) == 0:
        raise ValueError("bootstrap: no scores to resample")
    if resamples < 1 or not 0 < level < 1:
        raise ValueError(f"bootstrap: resamples must be ≥ 1 and level in (0, 1), got {resamples}, {level}")
    return np.asarray(values, dtype=float)


def bootstrap_mean(values: Sequence[float], resamples: int = 2000, seed: int = 0, level: float = 0.95) -> Interval:
    """The mean of per-item scores and its bootstrap percentile interval."""
    arr = _check(values, resamples, level)
    low, high = _percentiles(_resample_means(arr, resamples, seed), level)
    return Interval(float(arr.mean()), low, high, level, len(arr), resamples)


def paired_difference(
    a: Sequence[float], b: Sequence[float], resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> Interval:
    """Mean of b − a over the same items (in the same order) and its paired bootstrap interval."""
    if len(a) != len(b):
        raise ValueError(f"paired bootstrap: {len(a)} scores against {len(b)}; score both models on the same items")
    diff = _check(b, resamples, level) - _check(a, resamples, level)
    low, high = _percentiles(_resample_means(diff, resamples, seed), level)
    return Interval(float(diff.mean()), low, high, level, len(diff), resamples)
