"""Settings that make no sense are refused by name, through the one loader (schemas/settings.py): negative
tolerances and reward weights, K beyond its maximum, probe bounds the wrong way round, numbers that are not finite,
and a key given twice in a YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.config import load_config
from flows.errors import UserError
from schemas.settings import ConfigError
from trainers.config import GrpoSettings, load_settings


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("answer.numeric_rel_tol=-1", "numeric_rel_tol must be >= 0"),
        ("answer.box_time_tol=-5", "box_time_tol must be >= 0"),
        ("answer.numeric_abs_tol=.nan", "numeric_abs_tol must be >= 0"),
        ("difficulty.k=10000", "difficulty.k"),
        ("probe.min_duration=100", "min_duration (100.0) is above max_duration (50.0)"),
        ("probe.min_duration=1e400", "min_duration (inf)"),
        ("probe.tail_seconds=1e400", "probe.tail_seconds: must be a finite number"),
        ("probe.max_duration=.inf", "probe.max_duration: must be a finite number"),
    ],
)
def test_curate_settings_out_of_bounds_are_refused(override: str, named: str) -> None:
    overrides = [override] + (["probe.max_duration=50"] if "min_duration=100" in override else [])
    with pytest.raises(UserError, match="bad config") as e:
        load_config(None, overrides)
    assert named in str(e.value) and "\n" not in str(e.value)


def test_the_bounds_still_accept_what_is_sensible() -> None:
    cfg = load_config(None, ["answer.numeric_rel_tol=0", "difficulty.k=64", "probe.min_duration=2",
                             "probe.max_duration=2"])  # fmt: skip
    probe = getattr(cfg, "probe")  # noqa: B009 (the sections are built from the stage registry)
    assert probe.min_duration == probe.max_duration == 2.0


@pytest.mark.parametrize("weight", ["-5", ".inf", ".nan"])
def test_negative_or_infinite_reward_weights_are_refused(weight: str) -> None:
    with pytest.raises(ConfigError, match="rewards.weights must be finite and >= 0"):
        load_settings(GrpoSettings, "grpo", None, {}, [f"rewards.weights.citation={weight}"])


def test_a_key_given_twice_in_yaml_is_an_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("probe:\n  min_duration: 1\n  min_duration: 2\n")
    with pytest.raises(UserError, match="the key 'min_duration' is given twice") as e:
        load_config(cfg)
    assert "\n" not in str(e.value)
    cfg.write_text("probe:\n  min_duration: 1\nprobe:\n  max_duration: 9\n")
    with pytest.raises(UserError, match="the key 'probe' is given twice"):
        load_config(cfg)
