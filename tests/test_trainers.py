"""Trainers: T-GRPO's temporal bonus, DGRPO's advantage weights, configs, pool conversion, and a real GRPO step."""

from __future__ import annotations

import json
import random

import pytest

from trainers.config import DifficultySettings, GrpoSettings, SftSettings, TemporalSettings, load_settings
from trainers.data import load_rl, sft_example
from trainers.prompts import shuffled_view, strip_subtitles
from trainers.synthetic import build_pool
from trainers.variants import TemporalContrastReward, difficulty_weights, make_trainer_class, temporal_bonus

USER = (
    "Video: 12.00s long.\nShots:\nShot 1 [0.00–4.00s]: dog\nShot 2 [4.00–8.00s]: car\nShot 3 [8.00–12.00s]: cat\n\n"
    "Transcript:\n[0.50–2.10s] hello there\n\nQuestion: In what order?\nAnswer format: the shot numbers"
)
PROMPT = [{"role": "system", "content": "sys"}, {"role": "user", "content": USER}]


def wrap(answer: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": f"<think>t</think><answer>{answer}</answer>"}]


# --- prompt views ------------------------------------------------------------------------------------------


def test_strip_subtitles_cuts_the_transcript_block_only():
    out = strip_subtitles(PROMPT)
    assert "Transcript:" not in out[1]["content"] and "hello there" not in out[1]["content"]
    assert "Shot 3 [8.00–12.00s]: cat\n\nQuestion: In what order?" in out[1]["content"]
    assert out[0] == PROMPT[0] and PROMPT[1]["content"] == USER  # input untouched


def test_shuffled_view_permutes_shots_and_hides_their_times():
    view = shuffled_view(PROMPT, random.Random(0))
    assert view is not None
    lines = view[1]["content"].split("\n")
    shot_lines = lines[2:5]
    assert sorted(shot_lines) == ["Shot: car", "Shot: cat", "Shot: dog"]
    assert shot_lines != ["Shot: dog", "Shot: car", "Shot: cat"]  # never the identity
    assert "[0.50–2.10s] hello there" in view[1]["content"]  # the rest stays
    one_shot = [{"role": "user", "content": "Shots:\nShot 1 [0.00–4.00s]: dog\n\nQuestion: q"}]
    assert shuffled_view(one_shot, random.Random(0)) is None


# --- T-GRPO ------------------------------------------------------------------------------------------------


def test_temporal_bonus_only_when_ordered_beats_shuffled():
    s = TemporalSettings(bonus=0.3, ratio=0.8, correct_threshold=0.5)
    groups = ["a"] * 4
    # ordered p = 0.75 > 0.8 × shuffled 0.25: correct ordered rollouts get the bonus, the wrong one does not
    assert temporal_bonus([1, 1, 1, 0], [0, 1, 0, 0], groups, s) == [0.3, 0.3, 0.3, 0.0]
    # ordered 0.5 vs shuffled 0.75: no bonus for anyone
    assert temporal_bonus([1, 1, 0, 0], [1, 1, 1, 0], groups, s) == [0.0] * 4
    # equal accuracy: 0.5 > 0.8 × 0.5 with ratio 0.8, but not with ratio 1.0
    assert temporal_bonus([1, 1, 0, 0], [1, 1, 0, 0], groups, s) == [0.3, 0.3, 0.0, 0.0]
    assert temporal_bonus([1, 1, 0, 0], [1, 1, 0, 0], groups, TemporalSettings(ratio=1.0)) == [0.0] * 4
    # nothing correct: no bonus even against a shuffled accuracy of 0
    assert temporal_bonus([0, 0], [0, 0], ["a", "a"], s) == [0.0, 0.0]
    # groups are judged separately; rollouts without a shuffled view get nothing
    got = temporal_bonus([1, 1, 1, 1], [0, 0, None, None], ["a", "a", "b", "b"], s)
    assert got == [0.3, 0.3, 0.0, 0.0]


def test_temporal_reward_rolls_out_shuffled_views():
    seen: list = []
    replies: list[str] = []

    def fake_policy(prompts):
        seen.extend(prompts)
        return replies[: len(prompts)]

    reward = TemporalContrastReward(TemporalSettings(bonus=0.3, ratio=1.0))
    reward.bind(fake_policy)
    cols = {"solution": ["1, 2, 3"] * 2, "problem_type": ["ordering"] * 2, "sample_id": ["s1", "s1"]}
    ordered = [wrap("1, 2, 3"), wrap("1, 2, 3")]
    replies[:] = ["<think>t</think><answer>3, 1, 2</answer>"] * 2  # shuffled view: wrong
    assert reward([PROMPT, PROMPT], ordered, **cols) == [0.3, 0.3]
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0] != PROMPT  # one shuffled view per item
    assert "Shot 1 [" not in seen[0][1]["content"]
    replies[:] = ["<think>t</think><answer>1, 2, 3</answer>"] * 2  # shuffled view just as good: no bonus
    assert reward([PROMPT, PROMPT], ordered, **cols) == [0.0, 0.0]
    logged: dict[str, float] = {}
    reward([PROMPT, PROMPT], ordered, **cols, log_metric=logged.__setitem__)
    assert logged == {"t_grpo/ordered_accuracy": 1.0, "t_grpo/shuffled_accuracy": 1.0, "t_grpo/bonus_rate": 0.0}


def test_temporal_reward_needs_a_generator():
    reward = TemporalContrastReward(TemporalSettings())
    with pytest.raises(RuntimeError, match="not bound"):
        reward([PROMPT], [wrap("1")], solution=["1"], problem_type=["ordering"])


# --- DGRPO -------------------------------------------------------------------------------------------------


def test_difficulty_weights_formula():
    s = DifficultySettings(min_weight=0.5, max_weight=1.5)
    assert difficulty_weights([0.0, 0.5, 1.0, 0.8, None, 2.0, -1.0], s) == pytest.approx(
        [0.5, 1.0, 1.5, 1.3, 1.0, 1.5, 0.5]
    )


def test_dgrpo_trainer_scales_the_advantages(monkeypatch):
    import torch
    from trl import GRPOTrainer

    cls = make_trainer_class()

    def fake_super(self, inputs):
        return {"advantages": torch.tensor([1.0, -1.0, 2.0, -2.0])}

    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", fake_super)
    trainer = object.__new__(cls)  # no model needed: only the advantage hook is under test
    trainer.model = torch.nn.Linear(1, 1)
    trainer._metrics = {"train": {"dgrpo/mean_weight": []}, "eval": {}}
    trainer.difficulty = DifficultySettings(min_weight=0.5, max_weight=1.5)
    inputs = [{"difficulty": 0.0}, {"difficulty": 0.0}, {"difficulty": 1.0}, {"difficulty": 1.0}]
    out = trainer._generate_and_score_completions(inputs)
    assert out["advantages"].tolist() == pytest.approx([0.5, -0.5, 3.0, -3.0])
    assert trainer._metrics["train"]["dgrpo/mean_weight"] == [pytest.approx(1.0)]
    trainer.difficulty = None  # plain GRPO: untouched
    assert trainer._generate_and_score_completions(inputs)["advantages"].tolist() == [1.0, -1.0, 2.0, -2.0]


# --- configuration -----------------------------------------------------------------------------------------


def test_settings_from_toml_with_cli_overrides(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text(
        "[grpo]\nvariant = 't-grpo'\nloss_type = 'dr_grpo'\nmax_steps = 7\n"
        "[grpo.rewards.weights]\naccuracy = 2.0\nformat = 1\n[grpo.rewards.tiou]\nbonus = 0.2\n"
        "[grpo.temporal]\nratio = 1.0\n[grpo.difficulty]\nmax_weight = 2\n"
    )
    s = load_settings(GrpoSettings, "grpo", f, {"max_steps": 3, "lora.enabled": True, "beta": None}, ["lora.r=8"])
    assert (s.variant, s.loss_type, s.max_steps, s.beta, s.lora.enabled) == ("t-grpo", "dr_grpo", 3, 0.0, True)
    assert s.lora.r == 8
    assert s.rewards.weights == {"accuracy": 2.0, "format": 1.0} and s.rewards.tiou.bonus == 0.2
    assert s.temporal.ratio == 1.0 and s.difficulty.max_weight == 2.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sft]\nbatch_sise = 2\n", "sft.batch_sise: unknown key"),
        ("[sft]\nbatch_size = 'two'\n", "sft.batch_size: Input should be a valid integer"),
        ("[sft]\nlora = true\n", "sft.lora: Input should be a valid dictionary"),
    ],
)
def test_bad_settings_name_the_key(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_settings(SftSettings, "sft", f, {})


def test_grpo_settings_validation():
    with pytest.raises(ValueError, match="variant"):
        GrpoSettings(variant="ppo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="divisible by num_generations"):
        GrpoSettings(batch_size=3, num_generations=2)
    with pytest.raises(ValueError, match="unknown reward"):
        load_settings(GrpoSettings, "grpo", None, {}, ["rewards.weights.speed=1.0"])


# --- pools -------------------------------------------------------------------------------------------------


def test_sft_rows_become_prompt_completion_pairs():
    row = {"messages": [*PROMPT, {"role": "assistant", "content": "<think>a</think><answer>1</answer>"}]}
    ex = sft_example(row)
    assert ex["prompt"] == PROMPT and ex["completion"] == [row["messages"][-1]]
    assert "Transcript:" not in sft_example(row, subtitles=False)["prompt"][1]["content"]
    with pytest.raises(ValueError, match="no assistant turn"):
        sft_example({"messages": PROMPT, "sample_id": "x"})


def test_rl_pool_columns_reach_the_trainer(tmp_path):
    counts = build_pool(tmp_path / "pool", videos=3, test_fraction=0.34, seed=3)
    assert counts == {"train": 8, "test": 4}
    ds = load_rl(tmp_path / "pool", "train")
    assert len(ds) == 8
    row = ds[0]
    assert set(row) == {"prompt", "solution", "problem_type", "options", "difficulty", "sample_id", "video_id"}
    assert row["prompt"][0]["role"] == "system" and "Shots:" in row["prompt"][1]["content"]
    by_type = {r["problem_type"]: r for r in ds}
    assert by_type["multiple choice"]["options"][0].startswith("A. ")
    assert by_type["ordering"]["difficulty"] == 0.8


@pytest.mark.slow
def test_grpo_step_runs_each_variant_and_records_rewards(tmp_path):
    """One real GRPO step of the embedded model per variant, through the CLI."""
    from flows.cli import main

    build_pool(tmp_path / "pool", videos=2, test_fraction=0.5, seed=5)
    for variant in ("t-grpo", "dgrpo"):
        out = tmp_path / variant
        argv = ["train", "grpo", "--data", str(tmp_path / "pool"), "--out", str(out), "--variant", variant,
                "--max-steps", "1", "--batch-size", "2", "--num-generations", "2",
                "--max-completion-length", "8", "--threads", "1"]  # fmt: skip
        assert main(argv) == 0
        record = json.loads((out / "vidcot_run.json").read_text())
        assert record["variant"] == variant and record["steps"] == 1
        assert (out / "final" / "config.json").is_file()
        logged = record["log_history"][0]
        assert "rewards/accuracy_reward/mean" in logged
        if variant == "t-grpo":
            assert "rewards/temporal_reward/mean" in logged
        else:
            assert "dgrpo/mean_weight" in logged


def test_sft_pool_streams_the_same_rows(tmp_path):
    from trainers.data import load_sft

    build_pool(tmp_path / "pool", videos=2, test_fraction=0.5, seed=4)
    loaded = list(load_sft(tmp_path / "pool", "train"))
    streamed = list(load_sft(tmp_path / "pool", "train", streaming=True))
    assert len(loaded) == 4 and streamed == loaded
    assert loaded[0]["completion"][0]["content"].startswith("<think>")
