"""Text view, drafting and frame-conditioned refinement on a hand-built video with known evidence."""

from __future__ import annotations

import re
from typing import Any

import pytest

from curation.draft import DraftConfig, DraftStage, canonical_answer
from curation.llm.factory import LLMConfig
from curation.llm.openai_backend import OpenAIBackend
from curation.refine import NEUTRAL_GROUNDING, RefineConfig, RefineStage, check_chain
from curation.stage import Rejected
from schemas import (
    CotRecord,
    TaskRecord,
)
from tests.llm_standins import Reply, chat_reply, last_user
from tests.views import MC, cot, make_view
from trainers.rewards import parse_completion
from trainers.textview import strip_transcript, task_messages, text_view

CITE = re.compile(r"\[\d+\.\d+(?:–\d+\.\d+)?s\]")

COUNT = TaskRecord("t-count", "vid", "test", "numerical", "How many people are in the first shot?", "2")


# ---- text view ---------------------------------------------------------------------------------------


def test_text_view_layout_and_transcript_block():
    view = make_view()
    text = text_view(view)
    lines = text.split("\n")
    assert lines[0] == "Video: 12.00s long, 640x272."
    assert lines[1] == "Shots:"
    assert lines[2] == "Shot 1 [0.00–4.00s]: person ×2; colours red"
    assert lines[3] == 'Shot 2 [4.00–8.00s]: car; text "OPEN 24H"; colours blue, white'
    t = lines.index("Transcript:")
    assert lines[t + 1 : t + 3] == ["[0.50–2.10s] Look at them.", "[8.40–9.90s] A good dog."]
    assert text.endswith("A good dog.\n\n")  # the transcript block ends with a blank line
    no_subs = text_view(view, subtitles=False)
    assert "Transcript" not in no_subs and "good dog" not in no_subs
    assert strip_transcript(text) == no_subs


def test_text_view_without_speech_and_task_messages():
    view = make_view()
    view.segments = []
    assert "Transcript:\n(no speech)\n\n" in text_view(view)
    system, user = task_messages(COUNT, view)
    assert system.role == "system" and "<think>" in system.content and "<answer>" in system.content
    assert user.role == "user" and user.content.startswith("Video: 12.00s")
    assert "Question: How many people are in the first shot?" in user.content
    bare = TaskRecord("t", "vid", "g", "multiple choice", "Colour?", "A", options=["red", "blue"])
    assert "Options:\nA. red\nB. blue\n" in task_messages(bare, view)[1].content
    assert "Options:\nA. dog\nB. car\nC. bus\n" in task_messages(MC, view, subtitles=False)[1].content


# ---- claim checking ----------------------------------------------------------------------------------


def test_check_chain_scores_claims_against_the_cited_keyframes():
    view = make_view()
    good = check_chain('In shot 2 [4.00–8.00s], a car passes a blue "OPEN 24H" sign.', view)
    assert [(c.kind, c.supported) for c in good.claims] == [
        ("time", True),
        ("object", True),
        ("colour", True),
        ("text", True),
    ]
    assert good.score == 1.0
    dog = check_chain("In shot 2 [4.00–8.00s], a dog sits by the road.", view)
    assert dog.score == 0.5 and [c.value for c in dog.unsupported] == ["dog"]
    count = check_chain("At [2.0s] there are three people. [10.0s] shows 1 dog.", view)
    assert [(c.value, c.supported) for c in count.claims if c.kind == "count"] == [("3 person", False), ("1 dog", True)]
    outside = check_chain("At [14.00–16.00s], the car leaves.", view)
    assert outside.claims[0].kind == "time" and not outside.claims[0].supported
    assert "outside the video" in outside.claims[0].why
    off_boundary = check_chain("Between [1.30–6.70s] a car.", view)
    assert not off_boundary.claims[0].supported and "boundary" in off_boundary.claims[0].why
    speech = check_chain("The dog is praised at [8.40–9.90s].", view)  # transcript boundaries count too
    assert all(c.supported for c in speech.claims)
    none = check_chain("It is hard to say.", view)
    assert none.score == NEUTRAL_GROUNDING and none.flags == ["no_claims"]


# ---- refinement --------------------------------------------------------------------------------------


def test_refine_corrects_a_draft_citing_an_absent_object_deterministically():
    view = make_view()
    draft = "<think>In shot 2 [4.00–8.00s], a dog walks past the shop. So the answer is A.</think><answer>A</answer>"
    (out,) = RefineStage(RefineConfig(llm=None)).process_batch([(cot(draft), MC, view)])
    assert isinstance(out, CotRecord)
    assert out.draft == draft  # kept side by side
    assert out.refined is not None and "dog" not in parse_completion(out.refined).think
    assert "a car" in out.refined and "[4.00–8.00s]" in out.refined
    assert parse_completion(out.refined).well_formed and out.predicted_answer == "A"  # answer untouched
    assert out.grounding_draft == 0.5 and out.grounding == 1.0
    assert out.provenance is not None and out.provenance.stage == "refine" and out.provenance.prompt_hash


def test_refine_drops_what_it_cannot_correct():
    view = make_view()
    stage = RefineStage(RefineConfig(llm=None, deterministic_fallback=False))
    dog = "<think>In shot 2 [4.00–8.00s], a dog. So the answer is A.</think><answer>A</answer>"
    outside = "<think>At [14.00–16.00s], the car drives off. So the answer is B.</think><answer>B</answer>"
    fine = "<think>In shot 2 [4.00–8.00s], a car drives by. So the answer is B.</think><answer>B</answer>"
    r_dog, r_out, r_fine, r_bad = stage.process_batch([(cot(d), MC, view) for d in (dog, outside, fine, "B")])
    assert isinstance(r_dog, Rejected) and r_dog.reason == "unsupported_claims" and "'dog'" in r_dog.detail
    assert isinstance(r_out, Rejected) and "outside the video" in r_out.detail
    # a supported draft is kept, with the keyframe that shows the car cited in the normal form
    assert isinstance(r_fine, CotRecord) and r_fine.grounding == 1.0
    assert r_fine.refined == fine.replace("[4.00–8.00s],", "[4.00–8.00s] [kf f1],")
    assert isinstance(r_bad, Rejected) and r_bad.reason == "malformed_draft"
    # with the correction on, a chain citing only times outside the video still cannot be saved
    (again,) = RefineStage(RefineConfig(llm=None)).process_batch([(cot(outside), MC, view)])
    assert isinstance(again, Rejected) and again.reason == "unsupported_claims"


def test_refine_second_pass_through_an_llm_endpoint(chat_server):
    def respond(body: dict[str, Any]) -> Reply:
        prompt = last_user(body)
        assert "What the keyframes show:" in prompt and "Shot 2 [4.00–8.00s]: car" in prompt
        if "honest" in prompt:
            return chat_reply('2, a car is parked by a sign that reads "OPEN 24H".')
        return chat_reply("2, a dog is still there.")  # the rewrite repeats the hallucination

    server = chat_server(respond)
    stage = RefineStage(RefineConfig(), backend=OpenAIBackend(server.base_url, "m", timeout_s=2))
    honest = "<think>In shot 2 [4.00–8.00s], an honest dog. So the answer is B.</think><answer>B</answer>"
    stubborn = "<think>In shot 2 [4.00–8.00s], a dog. So the answer is B.</think><answer>B</answer>"
    r_honest, r_stubborn = stage.process_batch([(cot(honest), MC, view := make_view()), (cot(stubborn), MC, view)])
    assert isinstance(r_honest, CotRecord)
    assert r_honest.refined == (
        '<think>In shot 2 [4.00–8.00s] [kf f1], a car is parked by a sign that reads "OPEN 24H". '
        "So the answer is B.</think><answer>B</answer>"
    )
    assert isinstance(r_stubborn, CotRecord)  # LLM rewrite failed the check: deterministic correction
    assert "the keyframes show a car" in r_stubborn.refined and "dog" not in r_stubborn.refined
    assert r_stubborn.grounding == 1.0 > r_stubborn.grounding_draft
    assert stage.models() == ["m @ " + server.base_url]


# ---- drafting ----------------------------------------------------------------------------------------


def draft_server_reply(body: dict[str, Any]) -> Reply:
    """A scripted drafting LLM: the question picks the behaviour; the prefill says which part is asked."""
    prompt = last_user(body)
    part = body["messages"][-1]["content"]  # the prefill
    question = prompt.split("Question: ")[1].split("\n")[0]
    if question == "HANG?":
        return "hang"
    if question == "DOWN?":
        return 500, {}, b"no"
    if question == "BYTES?":
        return 200, {}, b'{"choices": [{"message": {"content": "\xff"}}]}'
    if question == "EMPTY?":
        return chat_reply("")
    if part == "In shot ":
        return chat_reply("2, a car drives past a shop.\nMore text that is cut.")
    if question == "NOANSWER?":
        return chat_reply(" I am not sure")
    if question == "RAMBLE?":
        return chat_reply(" it is " + "very " * 30, finish="length")
    return chat_reply(" B. car" if "Options" in prompt else " two people")


def test_draft_composes_tags_and_maps_failures_to_reason_codes(chat_server):
    server = chat_server(draft_server_reply)
    backend = OpenAIBackend(server.base_url, "drafter", timeout_s=0.5, max_retries=1, backoff_s=0.01)
    cfg = LLMConfig(backend="openai", base_url=server.base_url, model="drafter")
    stage = DraftStage(DraftConfig(llm=cfg, answer_hint=False), backend=backend)
    view = make_view()

    def task(q: str, ptype: str = "free-form") -> TaskRecord:
        return TaskRecord(f"t-{q}", "vid", "test", ptype, q, "x")

    items = [MC, COUNT] + [task(q) for q in ("HANG?", "DOWN?", "BYTES?", "EMPTY?", "NOANSWER?", "RAMBLE?")]
    items[-2] = task("NOANSWER?", "numerical")
    out = stage.process_batch([(t, view) for t in items])
    mc, count, hang, down, badbytes, empty, noanswer, ramble = out
    assert isinstance(mc, CotRecord)
    assert mc.draft == (
        "<think>In shot 2 [4.00–8.00s], a car drives past a shop. So the answer is B.</think><answer>B</answer>"
    )
    assert parse_completion(mc.draft).well_formed and CITE.search(mc.draft)
    assert mc.refined is None and mc.accepted is False and mc.predicted_answer == "B"
    assert (mc.format_score, mc.accuracy, mc.grounding, mc.grounding_draft) == (0.0, 0.0, 0.0, 0.0)
    assert mc.model == backend.model_id and mc.provenance is not None and mc.provenance.stage == "draft"
    assert mc.provenance.prompt_hash == DraftStage.prompt_hash()
    assert isinstance(count, CotRecord) and count.predicted_answer == "2"
    reasons = [(r.reason if isinstance(r, Rejected) else None) for r in out[2:]]
    assert reasons == ["timeout", "llm_error", "invalid_utf8", "empty_output", "no_answer", "too_long"]
    assert "http_error" in down.detail  # type: ignore[union-attr]
    # the drafted chain goes through refinement and stays grounded
    (refined,) = RefineStage(RefineConfig(llm=None)).process_batch([(mc, MC, view)])
    assert isinstance(refined, CotRecord) and refined.grounding == 1.0


def test_rationale_mode_shows_the_silver_answer_and_keeps_it(chat_server):
    prompts: list[str] = []

    def reply(body: dict[str, Any]) -> Reply:
        prompts.append(last_user(body))
        return draft_server_reply(body)

    server = chat_server(reply)
    backend = OpenAIBackend(server.base_url, "drafter", timeout_s=2, max_retries=0)
    cfg = LLMConfig(backend="openai", base_url=server.base_url, model="drafter")
    stage = DraftStage(DraftConfig(llm=cfg), backend=backend)
    (mc,) = stage.process_batch([(MC, make_view())])
    assert isinstance(mc, CotRecord) and mc.predicted_answer == MC.answer
    assert mc.draft.endswith(f"<answer>{MC.answer}</answer>")
    assert len(prompts) == 1 and "The correct answer is B. car." in prompts[0]  # one round: no answer question
    assert mc.provenance is not None and mc.provenance.prompt_hash == DraftStage.prompt_hash(hinted=True)


@pytest.mark.parametrize(
    ("ptype", "raw", "options", "want"),
    [
        ("multiple choice", "B. car", ["A. dog", "B. car"], "B"),
        ("multiple choice", "car", ["A. dog", "B. car"], "B"),
        ("multiple choice", "The answer is (B)", ["A. dog", "B. car"], "B"),
        ("multiple choice", "maybe", ["A. dog", "B. car"], None),
        ("numerical", "three", [], "3"),
        ("numerical", "about 2.50 s", [], "2.5"),
        ("span", "12.4 to 15", [], "[12.40, 15.00]"),
        ("ordering", "3, 1, 2", [], "3, 1, 2"),
        ("OCR", '"OPEN 24H"', [], "OPEN 24H"),
        ("box", '[{"time": 1, "x1": 0, "y1": 0, "x2": 0.5, "y2": 0.5}]', [], None),
    ],
)
def test_canonical_answer(ptype, raw, options, want):
    got = canonical_answer(ptype, raw, options)
    if ptype == "box":
        assert got is not None and '"x2": 0.5' in got
    else:
        assert got == want


@pytest.mark.slow
def test_draft_and_refine_with_the_embedded_model():
    from curation.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(batch_size=4, torch_threads=1)
    view = make_view()
    draft = DraftStage(DraftConfig(observe_tokens=24, answer_tokens=8), backend=backend)
    drafts = draft.process_batch([(MC, view), (COUNT, view)])
    codes = {"llm_error", "empty_output", "no_answer", "timeout", "invalid_utf8", "too_long"}
    for d in drafts:
        assert isinstance(d, CotRecord) or d.reason in codes
    cots = [(d, t, view) for d, t in zip(drafts, (MC, COUNT), strict=True) if isinstance(d, CotRecord)]
    for d, _, _ in cots:
        assert parse_completion(d.draft).well_formed and CITE.search(d.draft)
    refine = RefineStage(RefineConfig(rewrite_tokens=24), backend=backend)
    for r in refine.process_batch(cots):
        if isinstance(r, CotRecord):
            assert r.grounding == 1.0 and r.refined is not None and parse_completion(r.refined).well_formed
        else:
            assert r.reason == "unsupported_claims"
