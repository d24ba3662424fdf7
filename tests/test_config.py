"""One config system: the loader, the `--set` parser, typed timeouts, train/eval constraints, one answer config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import schemas.settings
from benchmarks.records import sample_records
from curation.difficulty import DifficultyStage
from curation.llm.base import GenRequest, GenResult, LLMBackend
from curation.verify import VerifyStage
from flows.config import CurateConfig, load_config
from flows.errors import UserError
from schemas import CotRecord, TaskRecord, VideoView
from schemas.settings import load, read_config_file
from trainers.config import EvalSettings, GrpoSettings, SftSettings, TrainConfig, load_settings
from trainers.rewards import AnswerConfig

VIDCOT = Path(sys.executable).with_name("vidcot")


def one_line_error(call, *args, **kw) -> str:
    with pytest.raises(ValueError) as info:  # ConfigError is a ValueError: the CLI prints it as one line, exit 2
        call(*args, **kw)
    message = str(info.value)
    assert "\n" not in message and message
    return message


def curate_error(overrides: list[str], path: Path | None = None) -> str:
    with pytest.raises(UserError) as info:
        load_config(path, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- train and eval settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ("sft:\n  learning_rate: fast\n", "sft.learning_rate", "valid number"),
        ("sft:\n  learning_rate: -0.1\n", "sft.learning_rate", "greater than 0"),
        ("sft:\n  batch_size: 0\n", "sft.batch_size", "greater than or equal to 1"),
        ("sft:\n  batch_size: true\n", "sft.batch_size", "not a boolean"),
        ("sft:\n  batch_sise: 2\n", "sft.batch_sise", "unknown key (known: batch_size, "),
        ("sft:\n  lora: true\n", "sft.lora", "valid dictionary"),
        ("sft:\n  lora:\n    dropout: 1.5\n", "sft.lora.dropout", "less than 1"),
        ("sfft:\n  batch_size: 2\n", "sfft", "unknown key (known: eval, grpo, sft)"),
        ("grpo:\n  variant: ppo\n", "grpo.variant", "'grpo', 't-grpo' or 'dgrpo'"),
        ("grpo:\n  rewards:\n    budget:\n      bonsu: 1\n", "grpo.rewards.budget.bonsu", "unknown key"),
        ("eval:\n  subtitles: sometimes\n", "eval.subtitles", "'with', 'without' or 'both'"),
    ],
)
def test_bad_train_settings_are_one_line_naming_the_key_and_the_file(tmp_path, text, key, why):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    message = one_line_error(load_settings, SftSettings, "sft", f)
    assert f"bad config ({f})" in message and f"{key}: " in message and why in message


def test_constraints_hold_for_objects_built_in_code_too():
    with pytest.raises(ValueError, match="learning_rate"):
        SftSettings(learning_rate="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        GrpoSettings(batch_size=0)
    with pytest.raises(ValueError, match="divisible by num_generations"):
        GrpoSettings(batch_size=3, num_generations=2)
    with pytest.raises(ValueError, match="max_weight"):
        GrpoSettings(difficulty={"min_weight": 1.0, "max_weight": 0.5})  # type: ignore[arg-type]
    assert SftSettings(learning_rate="5e-5").learning_rate == 5e-5  # type: ignore[arg-type]  # YAML 1.1 reads 5e-5 as text


def test_toml_and_yaml_files_read_the_same(tmp_path):
    y, t = tmp_path / "run.yaml", tmp_path / "run.toml"
    y.write_text("grpo:\n  max_steps: 7\n  rewards:\n    tiou:\n      thresholds: [0.2, 0.4]\n")
    t.write_text("[grpo]\nmax_steps = 7\n[grpo.rewards.tiou]\nthresholds = [0.2, 0.4]\n")
    a, b = (load_settings(GrpoSettings, "grpo", f) for f in (y, t))
    assert a == b and a.max_steps == 7 and a.rewards.tiou.thresholds == (0.2, 0.4)
    assert load_settings(EvalSettings, "eval", y) == EvalSettings()  # other sections keep their defaults


def test_options_then_set_override_the_file(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text("[sft]\nbatch_size = 2\nlearning_rate = 1e-4\n[sft.lora]\nr = 4\n")
    s = load_settings(
        SftSettings, "sft", f, {"batch_size": 6, "lora.enabled": True, "threads": None}, ["lora.r=8", "sft.seed=3"]
    )
    assert (s.batch_size, s.learning_rate, s.lora.enabled, s.lora.r, s.seed) == (6, 1e-4, True, 8, 3)
    message = one_line_error(load_settings, SftSettings, "sft", f, {}, ["lora.rr=8"])
    assert message.startswith(f"bad config ({f} and the command line): sft.lora.rr: unknown key")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("sft: [1, 2", "does not parse"),
        ("- sft\n- grpo\n", "expected a mapping"),
    ],
)
def test_unreadable_files_are_one_line(tmp_path, content, why):
    f = tmp_path / "c.yaml"
    f.write_text(content)
    assert why in one_line_error(read_config_file, f)
    assert "not found" in one_line_error(read_config_file, tmp_path / "missing.yaml")
    (tmp_path / "c.ini").write_text("[sft]\n")
    assert ".yaml, .yml or .toml" in one_line_error(read_config_file, tmp_path / "c.ini")
    (tmp_path / "empty.yaml").write_text("")
    assert load_settings(SftSettings, "sft", tmp_path / "empty.yaml") == SftSettings()


# --- curate: typed timeouts, the same --set parser -----------------------------------------------------------


def test_set_one_timeout_keeps_the_others():
    default = load_config(None, []).run.timeouts
    assert (default.probe, default.shots, default.asr, default.evidence) == (120.0, 1800.0, 3600.0, 1800.0)
    t = load_config(None, ["run.timeouts.shots=10"]).run.timeouts
    assert t.shots == 10.0
    assert t.model_dump() == {**default.model_dump(), "shots": 10.0}
    limits = {stage: getattr(t, stage) for stage in ("asr", "draft", "pools")}  # how the flow reads them
    assert limits == {"asr": 3600.0, "draft": None, "pools": None}  # no limit unless set


def test_every_stage_has_a_timeout_field():
    from curation.registry import NAMES
    from flows.config import StageTimeouts

    assert tuple(StageTimeouts.model_fields) == NAMES


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("run.timeouts.bogus=1", "run.timeouts.bogus: unknown key (known: asr, difficulty, draft, evidence"),
        ("run.timeouts.shots=0", "run.timeouts.shots: Input should be greater than 0 (got 0)"),
        ("run.timeouts.shots=soon", "run.timeouts.shots: Input should be a valid number"),
        ("run.timeouts=5", "run.timeouts: Input should be a valid dictionary"),
        # Only stages with a point to stop at take a timeout: per-video items, and batches of LLM work.
        ("run.timeouts.verify=5", "run.timeouts.verify: takes no timeout (only probe, shots, asr, evidence, draft"),
        ("shots.detectr=content", "shots.detectr: unknown key"),
        ("run.workers=true", "run.workers: Input should be a number, not a boolean"),
        ("run.workers.x=1", "run.workers: Input should be a valid integer"),
        ("nosection.key=1", "nosection: unknown key"),
    ],
)
def test_bad_curate_set_is_one_line_naming_the_key(assignment, expected):
    assert expected in curate_error([assignment])


@pytest.mark.parametrize("assignment", ["run.timeouts.shots", "=3", "run..shots=1", ".x=1"])
def test_malformed_set_is_one_line(assignment):
    assert "--set takes KEY.PATH=VALUE" in curate_error([assignment])
    assert "--set takes KEY.PATH=VALUE" in one_line_error(load_settings, SftSettings, "sft", None, {}, [assignment])


def test_a_value_on_the_way_is_not_a_section(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("run:\n  workers: 2\n")
    assert "--set run.workers.x: run.workers is a value, not a section" in curate_error(["run.workers.x=1"], f)


def test_unknown_key_in_a_curate_file_names_the_key_and_the_file(tmp_path):
    f = tmp_path / "curate.toml"
    f.write_text("[run.timeouts]\nshots = 10\nbogus = 1\n")
    message = curate_error([], f)
    assert message.startswith(f"bad config ({f}): run.timeouts.bogus: unknown key")


def test_the_same_set_parser_serves_curate_and_train(monkeypatch):
    seen: list[str] = []
    parse = schemas.settings.parse_value

    def spy(text: str):
        seen.append(text)
        return parse(text)

    monkeypatch.setattr(schemas.settings, "parse_value", spy)
    curate = load_config(None, ["tasks.max_per_video=3", "run.timeouts.asr=60.5"])
    grpo = load_settings(GrpoSettings, "grpo", None, {}, ["rewards.tiou.thresholds=[0.2, 0.6]", "lora.enabled=yes"])
    ev = load_settings(EvalSettings, "eval", None, {}, ["eval.samples=5"])
    assert seen == ["3", "60.5", "[0.2, 0.6]", "yes", "5"]
    assert curate.tasks.max_per_video == 3 and curate.run.timeouts.asr == 60.5
    assert grpo.rewards.tiou.thresholds == (0.2, 0.6) and grpo.lora.enabled is True and ev.samples == 5
    # One loader for both: the generic `load` gives what each command's loader gives.
    assert load(CurateConfig, None, ["tasks.max_per_video=3", "run.timeouts.asr=60.5"]) == curate
    assert load(TrainConfig, None, ["eval.samples=5"]).eval == ev


# --- answer tolerances: one AnswerConfig for verify, difficulty and the rewards ------------------------------


NUM = TaskRecord("t-num", "a" * 64, "counting", "numerical", "How many cars pass?", "10")
THINK = (
    "The question asks how many cars pass the camera during the video. "
    "Counting the cars in every shot of the street gives a number close to ten in total."
)


def test_answer_section_reaches_verify_and_difficulty_and_their_cache_keys():
    default = load_config(None, [])
    wide = load_config(None, ["answer.numeric_rel_tol=0.05"])
    assert default.verify.answer == default.difficulty.answer == default.answer == AnswerConfig()
    assert wide.verify.answer == wide.difficulty.answer == wide.answer == AnswerConfig(numeric_rel_tol=0.05)
    assert wide.verify.config_hash() != default.verify.config_hash()
    assert wide.difficulty.config_hash() != default.difficulty.config_hash()
    assert GrpoSettings().rewards.answer == AnswerConfig()  # the rewards' answer settings are the same type
    assert "answer tolerances are set once" in curate_error(["verify.answer.numeric_rel_tol=0.5"])
    message = curate_error(["answer.numeric_rel_tol=wide"])
    assert message.count("numeric_rel_tol") == 1  # reported once, under the section the user wrote


class SaysTenPointFour(LLMBackend):
    """A policy that always answers 10.4."""

    model_id = "ten-point-four"

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        return [GenResult(" I count.</think><answer>10.4</answer>") for _ in requests]


def test_verify_and_difficulty_score_with_the_configured_tolerance():
    records = sample_records(NUM.video_id)
    view = VideoView(records["videos"][0], records["shots"], records["segments"], records["words"])

    def chain() -> CotRecord:
        return CotRecord(
            cot_id="c1", task_id=NUM.task_id, video_id=NUM.video_id, model="m",
            draft=f"<think>{THINK}</think>\n<answer>10.4</answer>", refined=None, predicted_answer=None,
            format_score=0.0, accuracy=0.0, grounding_draft=1.0, grounding=1.0, confidence=1.0, accepted=False,
            reject_reason=None,
        )  # fmt: skip

    for overrides, accuracy, correct in [([], 0.0, 0), (["answer.numeric_rel_tol=0.05"], 1.0, 2)]:
        cfg = load_config(None, overrides)
        (out,) = VerifyStage(cfg.verify).process_batch([(chain(), NUM)])
        assert out.accuracy == accuracy and (out.reject_reason == "wrong_answer") == (accuracy == 0.0)
        stage = DifficultyStage(SaysTenPointFour(), cfg.difficulty.model_copy(update={"k": 2}))
        (d,) = stage.estimate([NUM], {NUM.video_id: view})
        assert d.correct == correct


# --- the command line ---------------------------------------------------------------------------------------


def run_vidcot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIDCOT), *args], capture_output=True, text=True, timeout=120)


def test_train_with_a_bad_config_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sft:\n  learning_rate: fast\n  batch_size: 0\n")
    data = tmp_path / "data"
    data.mkdir()
    r = run_vidcot("train", "sft", "--data", str(data), "--out", str(tmp_path / "run"), "--config", str(bad))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith(f"vidcot train: error: bad config ({bad}): sft.")
    assert (
        "sft.learning_rate: Input should be a valid number, unable to parse string as a number (got 'fast')" in r.stderr
    )
    assert "sft.batch_size: Input should be greater than or equal to 1 (got 0)" in lines[0]
    assert not (tmp_path / "run").exists()  # nothing was trained or written


def test_eval_with_a_bad_set_exits_2_with_one_line(tmp_path):
    r = run_vidcot("eval", "--data", str(tmp_path), "--set", "samples=0")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "eval.samples: Input should be greater than or equal to 1 (got 0)" in r.stderr


def test_the_bundled_configs_load():
    root = Path(__file__).resolve().parents[1] / "configs"
    assert load_config(root / "demo.yaml", []).tasks.min_per_video == 4
    train = root / "train.yaml"
    assert load_settings(SftSettings, "sft", train) == SftSettings()  # the file spells out the defaults
    assert load_settings(GrpoSettings, "grpo", train) == GrpoSettings()
    assert load_settings(EvalSettings, "eval", train) == EvalSettings()


def test_workers_default_to_the_cores_at_most_four_and_the_flag_still_rules(monkeypatch):
    import flows.config

    for cores, expected in ((None, 1), (1, 1), (2, 2), (16, flows.config.MAX_DEFAULT_WORKERS)):
        monkeypatch.setattr(flows.config.os, "cpu_count", lambda c=cores: c)
        assert flows.config.RunConfig().workers == expected
    assert load_config(None, ["run.workers=1"]).run.workers == 1
