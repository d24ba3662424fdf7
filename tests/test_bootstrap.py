"""The bootstrap intervals the ablation reports, checked on data whose answer is known."""

import math

import pytest

from trainers.bootstrap import bootstrap_mean, paired_difference


def test_constant_scores_have_a_point_interval() -> None:
    iv = bootstrap_mean([1.0] * 40)
    assert (iv.mean, iv.low, iv.high, iv.items) == (1.0, 1.0, 1.0, 40)


def test_interval_of_a_proportion_matches_the_normal_approximation() -> None:
    # 60 of 200 right: p = 0.3, standard error sqrt(0.3 * 0.7 / 200) = 0.0324, 95% ≈ 0.3 ± 0.0635.
    scores = [1.0] * 60 + [0.0] * 140
    iv = bootstrap_mean(scores, resamples=4000, seed=1)
    half = 1.96 * math.sqrt(0.3 * 0.7 / 200)
    assert iv.mean == pytest.approx(0.3)
    assert iv.low == pytest.approx(0.3 - half, abs=0.012)
    assert iv.high == pytest.approx(0.3 + half, abs=0.012)
    assert iv.low > 0 and iv.excludes_zero()


def test_same_seed_same_interval_other_seed_close() -> None:
    scores = [0.0, 1.0, 0.5, 1.0, 0.0, 0.25] * 10
    assert bootstrap_mean(scores, seed=3) == bootstrap_mean(scores, seed=3)
    other = bootstrap_mean(scores, seed=4)
    assert abs(other.low - bootstrap_mean(scores, seed=3).low) < 0.05


def test_paired_difference_sees_a_consistent_gain_that_unpaired_intervals_hide() -> None:
    # b is right on every item a gets right, plus 15 more of 150: the difference is +0.1, never negative.
    a = [1.0] * 50 + [0.0] * 100
    b = [1.0] * 65 + [0.0] * 85
    diff = paired_difference(a, b, seed=0)
    assert diff.mean == pytest.approx(0.1)
    assert diff.low > 0 and diff.excludes_zero()
    # one model's interval each overlaps the other's: only pairing shows the gain is real
    ia, ib = bootstrap_mean(a), bootstrap_mean(b)
    assert ib.low < ia.high


def test_paired_difference_of_equal_models_straddles_zero() -> None:
    a = [1.0, 0.0] * 50
    b = [0.0, 1.0] * 50  # same accuracy, different items
    diff = paired_difference(a, b)
    assert diff.mean == 0.0 and diff.low < 0 < diff.high and not diff.excludes_zero()


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no scores"):
        bootstrap_mean([])
    with pytest.raises(ValueError, match="same items"):
        paired_difference([1.0, 0.0], [1.0])
