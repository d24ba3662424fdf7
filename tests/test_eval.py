"""Evaluation: metrics on known completions, self-consistency voting, and `train sft` → `eval` end to end."""

from __future__ import annotations

import json

import pytest

from trainers.evaluate import format_table, score, vote
from trainers.synthetic import build_pool

OPTIONS = ["A. dog", "B. car", "C. cat", "D. bus"]


def item(problem_type: str, solution: str, options: list[str] | None = None) -> dict:
    return {"sample_id": "x", "problem_type": problem_type, "solution": solution, "options": options or [],
            "prompt": []}  # fmt: skip


def tagged(answer: str) -> str:
    return f"<think>because</think><answer>{answer}</answer>"


def test_score_hand_computed():
    items = [
        item("multiple choice", "B", OPTIONS),
        item("multiple choice", "C", OPTIONS),
        item("span", "[10.00, 20.00]"),
        item("span", "[0.00, 10.00]"),
        item("ordering", "2, 1, 3"),
    ]
    completions = [
        [tagged("B")],  # right
        ["C"],  # right letter, no tags: format 0, accuracy 0
        [tagged("[10, 16]")],  # IoU 0.6
        [tagged("[0, 10]")],  # IoU 1.0
        [tagged("2, 1, 3")],  # right
    ]
    m = score(items, completions)
    assert m["items"] == 5
    assert m["format_rate"] == pytest.approx(4 / 5)
    assert m["accuracy"] == pytest.approx((1 + 0 + 0.6 + 1 + 1) / 5)
    assert m["accuracy_by_type"]["multiple choice"] == {"items": 2, "accuracy": 0.5}
    assert m["span_items"] == 2 and m["mean_tiou"] == pytest.approx(0.8)
    assert m["recall_at_iou"] == {"0.3": 1.0, "0.5": 1.0, "0.7": 0.5}
    # default reward = 0.5 format + 1.0 accuracy + 0.5 shaped tIoU + 0.1 length (0 here)
    expected = [1.5, 0.0, 0.5 + 0.6 + 0.5 * 0.8, 0.5 + 1 + 0.5 * 1.3, 1.5]
    assert m["reward"] == pytest.approx(sum(expected) / 5)


def test_vote_majority_and_span_medoid():
    assert vote(["B", "(b)", "C", None], "multiple choice", OPTIONS) == "B"
    assert vote(["dog", "A.", "car"], "multiple choice", OPTIONS) in ("dog", "A.")
    assert vote(["4", "4.0 shots", "5"], "numerical") == "4"
    assert vote(["1, 2, 3", "1,2,3", "3, 2, 1"], "ordering") == "1, 2, 3"
    assert vote(["[0, 10]", "[1, 10]", "[50, 60]"], "span") in ("[0, 10]", "[1, 10]")
    assert vote([None, "garbage"], "numerical") is None


def test_self_consistency_scores_the_voted_answer():
    items = [item("multiple choice", "B", OPTIONS)]
    m = score(items, [[tagged("B"), tagged("B"), tagged("C")]])
    assert m["accuracy"] == 1.0 and m["format_rate"] == 1.0
    m = score(items, [[tagged("C"), tagged("C"), tagged("B")]])
    assert m["accuracy"] == 0.0


@pytest.mark.slow
def test_train_sft_two_steps_then_eval_loads_the_checkpoint(tmp_path, capsys):
    from flows.cli import main

    pool, run = tmp_path / "pool", tmp_path / "run"
    build_pool(pool, videos=4, test_fraction=0.25, seed=7)
    argv = ["train", "sft", "--data", str(pool), "--out", str(run), "--max-steps", "2", "--batch-size", "2",
            "--max-length", "512", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    assert (run / "final" / "config.json").is_file() and (run / "checkpoint-2").is_dir()
    record = json.loads((run / "vidcot_run.json").read_text())
    assert record["steps"] == 2 and record["data"]["revision"] == 1
    # The same run again without --resume is refused; nothing is overwritten.
    assert main(argv) == 2
    assert "already holds a run" in capsys.readouterr().err
    capsys.readouterr()
    argv = ["eval", "--model", str(run), "--data", str(pool), "--limit", "2", "--max-new-tokens", "24",
            "--threads", "1", "--json"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == str(run / "final")
    assert set(result["conditions"]) == {"with_subtitles", "without_subtitles"}
    for cond in result["conditions"].values():
        assert cond["items"] == 2 and 0.0 <= cond["format_rate"] <= 1.0 and 0.0 <= cond["accuracy"] <= 1.0
        assert cond["tokens_per_item"] > 0 and cond["seconds_per_item"] > 0
    assert result["format_rate"] == result["conditions"]["with_subtitles"]["format_rate"]
    assert "R@1 IoU≥0.5" in format_table(result)
    # every score stands beside the blind baselines, each with its interval
    assert set(result["baselines"]) == {"chance", "constant", "question_majority", "prior_rules"}
    for b in [*result["baselines"].values(), *(c["accuracy_interval"] for c in result["conditions"].values())]:
        assert b["items"] == 2 and b["low"] <= b["mean"] <= b["high"]
    assert "blind baselines on the same items" in format_table(result)


def test_eval_user_errors(tmp_path, capsys):
    from flows.cli import main

    assert main(["eval", "--data", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    build_pool(tmp_path / "pool", videos=2, test_fraction=0.5)
    assert main(["eval", "--data", str(tmp_path / "pool"), "--split", "val", "--model", str(tmp_path)]) == 2
    assert "no 'val' rows" in capsys.readouterr().err
