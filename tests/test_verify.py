"""The verifier: every reason code, self-consistency, near-duplicates and the reason counter."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from curation.checks import DEFAULT_CHECKS, check_counts, failing
from curation.verify import VerifyConfig, VerifyStage, draw_samples, english_like, reason_counts
from schemas import CotRecord, TaskRecord
from tests.llm_standins import ScriptedBackend
from tests.views import street_view

MC = TaskRecord("t-mc", "v1", "visible", "multiple choice", "Which object is visible?", "B",
                ["A. dog", "B. car", "C. cup", "D. knife"])  # fmt: skip
SPAN = TaskRecord("t-span", "v1", "grounding", "span", 'When is "hello there" said?', "[3.20, 4.60]", span=[3.2, 4.6])

THINK = (
    "The question asks which object is visible in the shot from 0.00s to 3.00s. "
    "The keyframe at [1.0s] shows a red car in the middle of the street, so the car is visible."
)


CHINESE = "镜头中有一辆红色的汽车停在街道中间，所以答案是汽车。" * 3


def cot(cot_id: str, text: str, task: TaskRecord = MC, grounding: float = 1.0, **kw) -> CotRecord:
    fields = dict(
        cot_id=cot_id, task_id=task.task_id, video_id=task.video_id, model="m", draft=text, refined=None,
        predicted_answer=None, format_score=0.0, accuracy=0.0, grounding_draft=grounding, grounding=grounding,
        confidence=1.0, accepted=False, reject_reason=None,
    )  # fmt: skip
    fields.update(kw)
    return CotRecord(**fields)


def verdicts(stage: VerifyStage, cots: list[CotRecord], task: TaskRecord = MC) -> list[str | None]:
    return [c.reject_reason for c in stage.process_batch([(c, task) for c in cots])]


def test_good_chain_is_accepted_with_scores_filled():
    c = cot("c1", f"<think>{THINK}</think>\n<answer>B</answer>")
    (out,) = VerifyStage().process_batch([(c, MC)])
    assert out.accepted and out.reject_reason is None
    assert (out.format_score, out.accuracy, out.predicted_answer) == (1.0, 1.0, "B")


def test_each_reason_code():
    stage = VerifyStage(VerifyConfig(max_think_chars=400))
    cases = {
        "bad_format": f"{THINK} The answer is B.",
        "too_short": "<think>It is B.</think><answer>B</answer>",
        "too_long": f"<think>{THINK * 4}</think><answer>B</answer>",
        "not_english": f"<think>{CHINESE}</think><answer>B</answer>",
        "wrong_answer": f"<think>{THINK}</think><answer>A</answer>",
    }
    cots = [cot(reason, text) for reason, text in cases.items()]
    assert verdicts(stage, cots) == list(cases)
    assert all(not c.accepted for c in cots)
    assert cots[-1].accuracy == 0.0 and cots[-1].format_score == 1.0 and cots[-1].predicted_answer == "A"
    low = cot("low", f"<think>{THINK}</think><answer>B</answer>", grounding=0.2)
    assert verdicts(stage, [low]) == ["low_grounding"]
    assert stage.reasons == Counter({r: 1 for r in [*cases, "low_grounding"]})


def test_german_token_soup_is_not_english_but_english_is():
    assert not english_like("Das Auto steht mitten auf der Straße und deshalb ist die Antwort das Auto hier")
    assert not english_like("car car red red street street blue car red car street blue red")
    assert english_like(THINK)


def span_chain(a: str, b: str) -> str:
    think = f'The speaker says "hello there" from [{a}–{b}s], just after the car stops in the street.'
    return f"<think>{think} So the answer is [{a}, {b}].</think><answer>[{a}, {b}]</answer>"


def test_span_accuracy_uses_the_trainers_iou():
    exact = cot("s1", span_chain("3.20", "4.60"), SPAN)
    near = cot("s2", span_chain("3.50", "4.60"), SPAN)
    assert verdicts(VerifyStage(), [exact, near], SPAN) == [None, "wrong_answer"]
    assert near.accuracy == pytest.approx(1.1 / 1.4)
    lenient = cot("s3", span_chain("3.50", "4.60"), SPAN)
    assert verdicts(VerifyStage(VerifyConfig(min_accuracy=0.7)), [lenient], SPAN) == [None]


def test_near_duplicate_chains_of_the_same_task():
    stage = VerifyStage()
    a = cot("a", f"<think>{THINK}</think><answer>B</answer>")
    b = cot("b", f"<think>{THINK} Clearly.</think><answer>B</answer>")
    other = "The car at [1.0s] is parked; the other options, a dog, a cup and a knife, are never seen in this shot."
    c = cot("c", f"<think>{other}</think><answer>B</answer>")
    assert verdicts(stage, [a, b, c]) == [None, "near_duplicate", None]
    # The same text for another task is no duplicate; a later batch still sees earlier acceptances.
    task2 = TaskRecord("t-2", "v1", "visible", "multiple choice", "q", "B", MC.options)
    assert verdicts(stage, [cot("d", a.draft, task2)], task2) == [None]
    assert verdicts(stage, [cot("e", a.draft)]) == ["near_duplicate"]
    fresh = VerifyStage()
    fresh.remember([a])
    assert verdicts(fresh, [cot("f", a.draft)]) == ["near_duplicate"]


def test_refined_text_is_judged_and_upstream_reason_kept():
    c = cot("r", "<think>bad draft</think>", refined=f"<think>{THINK}</think><answer>B</answer>")
    d = cot("u", f"<think>{THINK}</think><answer>B</answer>", reject_reason="unsupported_claims")
    stage = VerifyStage()
    assert verdicts(stage, [c, d]) == [None, "unsupported_claims"]
    assert d.accuracy == 1.0 and not d.accepted
    assert reason_counts([c, d]) == Counter({"accepted": 1, "unsupported_claims": 1})


def test_self_consistency_sets_confidence_and_rejects_disagreement():
    view = street_view("v1")
    stage = VerifyStage(VerifyConfig(self_consistency=4))
    good = cot("g", f"<think>{THINK}</think><answer>B</answer>")
    samples = draw_samples(ScriptedBackend(["B", "B", "b", None]), [(good, MC)], {"v1": view}, k=4)
    assert samples["g"] == ["<think> I look.</think><answer>B</answer>"] * 2 + [
        "<think> I look.</think><answer>b</answer>"
    ]
    stage.process_batch([(good, MC)], samples)
    assert good.accepted and good.confidence == 1.0

    split = cot("s", "<think>The car is seen at [2.0s], I think, so B.</think><answer>B</answer>")
    votes = {"s": [f"<think>x</think><answer>{a}</answer>" for a in ("A", "A", "B", "C")]}
    stage.process_batch([(split, MC)], votes)
    assert split.reject_reason == "low_agreement" and split.confidence == pytest.approx(2 / 5)

    lenient = VerifyStage(VerifyConfig(self_consistency=3, min_agreement=0.2))
    outvoted = cot("o", f"<think>{THINK}</think><answer>B</answer>")
    votes = {"o": [f"<think>x</think><answer>{a}</answer>" for a in ("A", "A", "A")]}
    lenient.process_batch([(outvoted, MC)], votes)
    assert outvoted.reject_reason == "low_agreement" and outvoted.confidence == pytest.approx(1 / 4)


def test_every_check_judges_and_counts_are_per_check():
    stage = VerifyStage()
    good = cot("g", f"<think>{THINK}</think><answer>B</answer>")
    wrong_and_short = cot("w", "<think>It is A.</think><answer>A</answer>")
    upstream = cot("u", f"<think>{THINK}</think><answer>B</answer>", reject_reason="unsupported_claims")
    stage.process_batch([(good, MC), (wrong_and_short, MC), (upstream, MC)])
    # Without views the checks that need the video skip; self-consistency has no samples.
    assert good.checks_run == ["format", "length", "language", "answer", "coherence", "grounding", "relevance",
                               "support", "near_duplicate"]  # fmt: skip
    assert good.checks_failed == []
    assert wrong_and_short.reject_reason == "too_short" and wrong_and_short.reject_detail == "8 < 40 characters"
    assert wrong_and_short.checks_failed == ["length", "answer", "support"]
    assert upstream.checks_run == [] and upstream.reject_reason == "unsupported_claims"
    counts = check_counts([good, wrong_and_short, upstream])
    assert (counts["answer"].checked, counts["answer"].failed, counts["answer"].rate) == (2, 1, 0.5)
    assert counts["format"].failed == 0 and "citations" not in counts


def test_configured_checks_run_in_their_order_and_unknown_ones_are_refused():
    stage = VerifyStage(VerifyConfig(checks=["answer", "length"]))
    c = cot("c", "<think>It is A.</think><answer>A</answer>")
    stage.process_batch([(c, MC)])
    assert c.reject_reason == "wrong_answer" and c.checks_run == ["answer", "length"]
    with pytest.raises(ValidationError, match="unknown check"):
        VerifyConfig(checks=["format", "vibes"])


def test_failing_judges_one_chain_without_a_stage():
    assert failing(cot("g", f"<think>{THINK}</think><answer>B</answer>"), MC) is None
    assert failing(cot("w", f"<think>{THINK}</think><answer>A</answer>"), MC) == "wrong_answer"
    unscored = cot("n", f"<think>{THINK}</think><answer>B</answer>", grounding=0.0)
    assert failing(unscored, MC) == "low_grounding"
    assert failing(unscored, MC, checks=[c for c in DEFAULT_CHECKS if c != "grounding"]) is None
