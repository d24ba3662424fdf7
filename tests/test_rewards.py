"""Reward functions: hand-computed values and the edge cases a policy will find."""

from __future__ import annotations

import json

import pytest

from trainers.rewards import (
    REWARDS,
    AnswerConfig,
    RewardConfig,
    TiouConfig,
    accuracy_reward,
    answer_score,
    build_rewards,
    completion_text,
    format_reward,
    kendall_tau,
    length_penalty,
    ordering_reward,
    parse_completion,
    parse_number,
    parse_span,
    score_completion,
    temporal_iou,
    tiou_reward,
)


def name_of(func) -> str:
    """The name TRL logs a reward under (it unwraps functools.partial)."""
    return getattr(func, "func", func).__name__


def wrap(answer: str, think: str = "reasoning") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


# --- parsing ---------------------------------------------------------------------------------------------


def test_parse_well_formed_with_whitespace():
    p = parse_completion("  <think> shot 2 shows a dog </think>\n<answer> B </answer>\n")
    assert p.well_formed and p.think == "shot 2 shows a dog" and p.answer == "B"


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty completion
        "The answer is B.",  # no tags
        "<answer>B</answer>",  # no think
        "<think>x</think>",  # no answer
        "<think>x</think><answer>B</answer><answer>C</answer>",  # two answers
        "<think>x</think><think>y</think><answer>B</answer>",  # two thinks
        "<answer>B</answer><think>x</think>",  # wrong order
        "Sure! <think>x</think><answer>B</answer>",  # text outside the tags
        "<think>x</think><answer>B</answer> done",
        "<think>x<answer>B</answer></think>",  # nested
    ],
)
def test_malformed_completions(text):
    assert parse_completion(text).well_formed is False
    assert format_reward([text]) == [0.0]


def test_answer_extraction_rules():
    assert parse_completion("<answer>B</answer>").answer == "B"  # scored even without think
    assert parse_completion("<think>x</think><answer>B</answer><answer>C</answer>").answer is None
    assert parse_completion("The answer is B.").answer is None
    assert parse_completion("").answer is None


def test_completion_text_forms():
    msgs = [{"role": "assistant", "content": wrap("B")}]
    assert completion_text(msgs) == wrap("B")
    assert completion_text(wrap("B")) == wrap("B")
    parts = [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "<think>a</think>"},
                {"type": "text", "text": "<answer>B</answer>"},
            ],
        }
    ]  # noqa: E501
    assert completion_text(parts) == "<think>a</think><answer>B</answer>"
    assert completion_text(None) == ""
    assert completion_text([]) == ""


def test_message_list_completions_in_rewards():
    comps = [[{"role": "assistant", "content": wrap("B")}], [{"role": "assistant", "content": "B"}]]
    assert format_reward(comps) == [1.0, 0.0]
    assert accuracy_reward(comps, solution=["B", "B"], problem_type=["multiple choice"] * 2) == [1.0, 0.0]


# --- numbers and spans -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-3", -3.0),
        ("\u22123", -3.0),
        ("1,234.5", 1234.5),
        ("about 1,234.5 metres", 1234.5),
        ("12 people", 12.0),
        ("there are three cars", 3.0),
        (".5", 0.5),
        ("none", None),
        ("", None),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("[12.40, 15.00]", (12.4, 15.0)),
        ("[15.0, 12.4]", (12.4, 15.0)),  # reversed
        ("12.4-15", (12.4, 15.0)),
        ("12.4 - 15 s", (12.4, 15.0)),
        ("from 12.4s to 15s", (12.4, 15.0)),
        ("0:12.4 to 0:15", (12.4, 15.0)),
        ("1:02 - 1:05", (62.0, 65.0)),
        ("no span here", None),
        ("7", None),
    ],
)
def test_parse_span(text, span):
    got = parse_span(text)
    assert got == (pytest.approx(span) if span else None)


def test_temporal_iou_hand_computed():
    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert temporal_iou((10, 0), (5, 15)) == pytest.approx(5 / 15)  # reversed normalised
    assert temporal_iou((0, 1), (2, 3)) == 0.0
    assert temporal_iou((2, 4), (2, 4)) == 1.0
    assert temporal_iou((3, 3), (3, 3)) == 1.0  # degenerate identical


# --- per-type answer scores --------------------------------------------------------------------------------

OPTIONS = ["A. red car", "B. blue car", "C. green bus", "D. dog"]


@pytest.mark.parametrize(
    ("pred", "score"),
    [("B", 1), ("b", 1), ("B.", 1), ("(B)", 1), ("B) blue car", 1), ("B. blue car", 1), ("blue car", 1),
     ("Blue Car.", 1), ("A", 0), ("red car", 0), ("", 0), ("B or C", 0)],
)  # fmt: skip
def test_multiple_choice(pred, score):
    assert answer_score(pred, "B", "multiple choice", OPTIONS) == score


def test_numerical_tolerance_and_formats():
    assert answer_score("-3", "-3", "numerical") == 1.0
    assert answer_score("1,234.5", "1234.5", "numerical") == 1.0
    assert answer_score("1240", "1234.5", "numerical") == 1.0  # within 1 %
    assert answer_score("1260", "1234.5", "numerical") == 0.0
    assert answer_score("3", "-3", "numerical") == 0.0
    assert answer_score("4 cars", "4", "numerical") == 1.0
    assert answer_score("many", "4", "numerical") == 0.0
    strict = AnswerConfig(numeric_rel_tol=0.0)
    assert answer_score("1240", "1234.5", "numerical", config=strict) == 0.0


def test_ocr_is_one_minus_wer():
    assert answer_score("OPEN 24 HOURS", "open 24 hours", "OCR") == 1.0
    assert answer_score("open 24", "open 24 hours", "OCR") == pytest.approx(1 - 1 / 3)  # one deletion
    assert answer_score("a b c d e f g", "x", "OCR") == 0.0  # WER 7 clipped at 0


def test_free_form_token_f1():
    # pred tokens {man, rides, bike}, truth {man, rides, red, bike}: P = 1, R = 3/4, F1 = 6/7
    got = answer_score("The man rides a bike", "a man rides the red bike", "free-form")
    assert got == pytest.approx(6 / 7)
    assert answer_score("nothing alike", "a man rides", "free-form") == 0.0


def test_regression_relative_error():
    assert answer_score("9", "10", "regression") == pytest.approx(0.9)
    assert answer_score("30", "10", "regression") == 0.0
    assert answer_score("0.25", "0", "regression") == pytest.approx(0.75)  # absolute error at 0


def test_span_score():
    assert answer_score("[5, 15]", "[0.00, 10.00]", "span") == pytest.approx(5 / 15)
    assert answer_score("15 - 5", "[0.00, 10.00]", "span") == pytest.approx(5 / 15)
    assert answer_score("somewhere", "[0.00, 10.00]", "span") == 0.0


def test_ordering_score_and_kendall_tau():
    assert answer_score("3, 1, 2", "3, 1, 2", "ordering") == 1.0
    assert answer_score("3 -> 1 -> 2", "3, 1, 2", "ordering") == 1.0
    # one adjacent swap of 4 items: 5 concordant of 6 pairs → tau = 4/6
    assert answer_score("1, 3, 2, 4", "1, 2, 3, 4", "ordering") == pytest.approx(2 / 3)
    assert answer_score("4, 3, 2, 1", "1, 2, 3, 4", "ordering") == 0.0  # reversed: tau = -1 → 0
    assert answer_score("1, 2, 3", "1, 2, 3, 4", "ordering") == 0.0  # not a permutation
    assert answer_score("1, 1, 2", "1, 2, 3", "ordering") == 0.0
    assert kendall_tau([2, 1, 3], [1, 2, 3]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 2], [1, 3]) is None


def test_box_spatio_temporal_iou():
    truth = json.dumps([{"time": 1.0, "x1": 0, "y1": 0, "x2": 0.5, "y2": 0.5},
                        {"time": 2.0, "x1": 0, "y1": 0, "x2": 0.5, "y2": 0.5}])  # fmt: skip
    # t=1 exact (IoU 1), t=2 shifted by half width (IoU = 0.125 / 0.375 = 1/3), one extra time at t=5.
    pred = json.dumps([{"time": 1.1, "x1": 0, "y1": 0, "x2": 0.5, "y2": 0.5},
                       {"time": 2.0, "x1": 0.25, "y1": 0, "x2": 0.75, "y2": 0.5},
                       {"time": 5.0, "x1": 0, "y1": 0, "x2": 1, "y2": 1}])  # fmt: skip
    assert answer_score(pred, truth, "box") == pytest.approx((1 + 1 / 3) / 3)
    assert answer_score(truth, truth, "box") == 1.0
    assert answer_score("not json", truth, "box") == 0.0
    assert answer_score('[{"time": 1}]', truth, "box") == 0.0


def test_missing_answer_and_unknown_type():
    assert answer_score(None, "B", "multiple choice", OPTIONS) == 0.0
    with pytest.raises(ValueError, match="problem_type"):
        answer_score("B", "B", "riddle")


# --- TRL reward functions ----------------------------------------------------------------------------------


def test_accuracy_reward_batch():
    comps = [wrap("B"), wrap("[5, 15]"), "B", wrap("B") + wrap("C"), ""]
    got = accuracy_reward(
        comps,
        solution=["B", "[0.00, 10.00]", "B", "B", "B"],
        problem_type=["multiple choice", "span", "multiple choice", "multiple choice", "multiple choice"],
        options=[OPTIONS, [], OPTIONS, OPTIONS, OPTIONS],
        prompts=["ignored"] * 5,
    )
    assert got == pytest.approx([1.0, 1 / 3, 0.0, 0.0, 0.0])


def test_tiou_reward_bonuses_and_length_penalty():
    sol, pt = ["[10.00, 20.00]"], ["span"]
    assert tiou_reward([wrap("[10, 20]")], sol, pt) == pytest.approx([1.0 + 0.3])  # all three bonuses
    assert tiou_reward([wrap("[10, 16]")], sol, pt) == pytest.approx([0.6 + 0.2])  # IoU 0.6: two bonuses
    assert tiou_reward([wrap("[15, 30]")], sol, pt) == pytest.approx([0.25])  # IoU 5/20: no bonus
    # covering 0..100 s: IoU 0.1, ratio 10 > 2 → penalty 0.5 × min(1, 8/2) = 0.5
    assert tiou_reward([wrap("[0, 100]")], sol, pt) == pytest.approx([0.1 - 0.5])
    # ratio 3: penalty 0.5 × (3 - 2) / 2 = 0.25; IoU 1/3 → one bonus
    assert tiou_reward([wrap("[10, 40]")], sol, pt) == pytest.approx([1 / 3 + 0.1 - 0.25])
    assert tiou_reward([wrap("B")], ["B"], ["multiple choice"]) == [0.0]
    assert tiou_reward(["no tags"], sol, pt) == [0.0]
    custom = TiouConfig(thresholds=(0.5,), bonus=1.0, length_coef=0.0)
    assert tiou_reward([wrap("[0, 100]")], sol, pt, config=custom) == pytest.approx([0.1])


def test_ordering_reward_is_dense():
    sol, pt = ["1, 2, 3, 4"] * 4, ["ordering"] * 4
    comps = [wrap("1, 2, 3, 4"), wrap("1, 3, 2, 4"), wrap("4, 3, 2, 1"), wrap("1, 2")]
    assert ordering_reward(comps, sol, pt) == pytest.approx([1.0, (1 + 2 / 3) / 2, 0.0, 0.0])
    assert ordering_reward([wrap("B")], ["B"], ["multiple choice"]) == [0.0]


def test_length_penalty():
    assert length_penalty(["x" * 100]) == [0.0]
    assert length_penalty(["x" * 1800]) == pytest.approx([-0.5])
    assert length_penalty(["x" * 10_000]) == [-1.0]


def test_registry_and_weights():
    funcs, weights = build_rewards()
    names = [name_of(f) for f in funcs]  # what TRL logs them as
    assert names == ["format_reward", "accuracy_reward", "tiou_reward", "length_penalty"]  # ordering weight 0
    assert weights == [0.5, 1.0, 0.5, 0.1]
    assert set(REWARDS) == {"format", "accuracy", "tiou", "ordering", "length", "citation", "budget"}
    funcs, weights = build_rewards(RewardConfig(weights={"accuracy": 2.0, "ordering": 1.0}))
    assert [name_of(f) for f in funcs] == ["accuracy_reward", "ordering_reward"]
    assert weights == [2.0, 1.0]
    assert funcs[0]([wrap("9")], solution=["10"], problem_type=["numerical"]) == [0.0]
    loose = RewardConfig(weights={"accuracy": 1.0}, answer=AnswerConfig(numeric_rel_tol=0.2))
    assert build_rewards(loose)[0][0]([wrap("9")], solution=["10"], problem_type=["numerical"]) == [1.0]
    with pytest.raises(ValueError, match="unknown reward"):
        RewardConfig(weights={"vibes": 1.0})


def test_score_completion_for_the_verifier():
    s = score_completion(wrap("[10, 20]"), "[10.00, 20.00]", "span")
    assert s["format"] == 1.0 and s["accuracy"] == 1.0 and s["tiou"] == pytest.approx(1.3)
    assert s["total"] == pytest.approx(0.5 * 1 + 1.0 * 1 + 0.5 * 1.3)
