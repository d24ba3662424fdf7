"""Viewing budgets: never exceeded, the shots the answer depends on kept, usage recorded per row; the budget
reward and the GRPO reward wiring (hand-computed values)."""

from __future__ import annotations

import itertools

import pytest

from curation.budget import BudgetConfig, coarse_to_fine, estimate_tokens, required_shots, select_view
from curation.pools import PoolsConfig, PoolsStage
from schemas import EvidenceRecord, FrameRecord, SegmentRecord, ShotRecord, TaskRecord, VideoRecord, VideoView
from tests.views import MC, PROV, make_view, obj
from trainers.config import GrpoSettings, build
from trainers.grpo import reward_setup
from trainers.rewards import budget_reward, citation_reward
from trainers.textview import text_view

LABELS = ("dog", "car", "cat", "bus", "bird", "boat", "horse", "cup", "chair", "clock")


def long_view(n: int = 60, seconds: float = 2.0) -> VideoView:
    """n shots of `seconds` each, two keyframes per shot, a spoken sentence in every third shot."""
    dur = n * seconds
    video = VideoRecord("long", "/l.mp4", 1, "ok", dur, 25.0, 640, 360, 0, False, "mp4", "h264", True, "aac",
                        16000, 1, PROV)  # fmt: skip
    shots, frames, evidence, segments = [], [], [], []
    for i in range(n):
        a, b = i * seconds, (i + 1) * seconds
        shots.append(ShotRecord("long", f"s{i}", i, a, b, "cut", PROV))
        for k, t in enumerate((a + 0.5, b - 0.5)):
            fid = f"long-f{2 * i + k:05d}"
            frames.append(FrameRecord("long", fid, f"s{i}", t, 640, 360, b"", "0" * 16, PROV))
            evidence.append(EvidenceRecord("long", fid, f"s{i}", t, "test", objects=[obj(LABELS[i % 10])],
                                           colours=["red", "blue"][i % 2:i % 2 + 1]))  # fmt: skip
        if i % 3 == 0:
            segments.append(SegmentRecord("long", f"g{i}", i, a + 0.2, b - 0.2, f" Sentence number {i} is here.",
                                          "en", 0.99, -0.2, 0.01, PROV))  # fmt: skip
    return VideoView(video=video, shots=shots, segments=segments, frames=frames, evidence=evidence)


def visible_task(i: int, seconds: float = 2.0) -> TaskRecord:
    a, b = i * seconds, (i + 1) * seconds
    return TaskRecord(f"t{i}", "long", "visible", "multiple choice",
                      f"Which of these objects can be seen in the video between {a:.2f}s and {b:.2f}s?", "A",
                      options=["A. x", "B. y"], evidence_ids=[f"s{i}", f"long-f{2 * i:05d}"])  # fmt: skip


def test_required_shots_come_from_evidence_span_and_question_times():
    view = long_view()
    assert required_shots(visible_task(37), view) == ["s37"]
    span = TaskRecord("g", "long", "grounding", "span", "When is it said?", "[10.20, 13.80]", span=[10.2, 13.8],
                      evidence_ids=["g6"])  # fmt: skip
    assert required_shots(span, view) == ["s5", "s6"]
    order = TaskRecord("o", "long", "ordering", "ordering", "Order?", "2, 1, 3", evidence_ids=["s3", "s40", "s9"])
    assert required_shots(order, view) == ["s3", "s9", "s40"]


def test_coarse_to_fine_covers_the_timeline_early():
    assert coarse_to_fine(8) == [4, 2, 6, 1, 3, 5, 7, 0]
    assert sorted(coarse_to_fine(13)) == list(range(13))


def test_the_budget_is_never_exceeded_and_keeps_the_answer_shots():
    view = long_view()
    full_tokens = estimate_tokens(text_view(view, keyframes=True))
    assert full_tokens > 900  # the whole view does not fit the smaller budgets below
    tasks = [visible_task(i) for i in (0, 17, 37, 59)] + [
        TaskRecord("o", "long", "ordering", "ordering", "Order?", "2, 1, 3", evidence_ids=["s3", "s40", "s9"])
    ]
    for task, tokens, frames in itertools.product(tasks, (200, 320, 640, 1024, 4096), (1, 3, 8)):
        cfg = BudgetConfig(max_tokens=tokens, max_frames=frames)
        sel = select_view(task, view, cfg, keyframes=True)
        assert estimate_tokens(sel.text) == sel.tokens <= tokens
        assert sel.frames == len(sel.frame_ids) <= frames
        assert 0 < sel.used <= 1.0
        need = required_shots(task, view)
        assert set(need) <= set(sel.shot_ids) and sel.complete
        # shots keep their numbers in the whole video; their keyframes enter the image inputs first
        for sid in need:
            i = int(sid[1:])
            assert f"Shot {i + 1} [{2 * i:.2f}–{2 * i + 2:.2f}s]" in sel.text
        frame_shots = {f.shot_id for f in view.frames if f.frame_id in sel.frame_ids}
        assert set(need[:frames]) <= frame_shots
        if tokens >= full_tokens:
            assert sel.text == text_view(view, keyframes=True) and len(sel.shot_ids) == 60
        else:
            assert len(sel.shot_ids) < 60 and "shots shown" in sel.text
    # the transcript spans that enter are those of the shown shots
    sel = select_view(visible_task(37), view, BudgetConfig(max_tokens=320))
    for seg in view.segments:
        line = f"Sentence number {seg.index} is here."
        assert (line in sel.text) == (f"s{seg.index}" in sel.shot_ids)


def test_required_shots_beyond_the_budget_are_cut_not_the_budget():
    view = long_view()
    everything = TaskRecord("a", "long", "absence", "multiple choice", 'Is a "zebra" visible?', "B",
                            options=["A. Yes", "B. No"])  # fmt: skip
    sel = select_view(everything, view, BudgetConfig(max_tokens=200, max_frames=2))
    assert sel.tokens <= 200 and sel.frames <= 2 and not sel.complete and len(sel.required) == 60


def test_short_videos_are_shown_whole_and_rows_record_usage():
    view = make_view()
    sel = select_view(MC, view, BudgetConfig())
    assert sel.text == text_view(view) and sel.shot_ids == ["s0", "s1", "s2"] and sel.complete
    assert sel.frames == 3 and sel.used == pytest.approx(max(3 / 8, sel.tokens / 1024), abs=1e-4)
    pools = PoolsStage(PoolsConfig(budget=BudgetConfig(max_frames=2)))
    mc = TaskRecord("t", "vid", "visible", "multiple choice", "Which between 4.00s and 8.00s?", "B",
                    options=["A. dog", "B. car"], evidence_ids=["s1", "f1"])  # fmt: skip
    rows, _ = pools.rl([mc], {"vid": view})
    (row,) = rows
    assert row.budget_frames == 2 and len(row.keyframe_ids) == 2 and "f1" in row.keyframe_ids
    assert row.budget_tokens == estimate_tokens(text_view(view, keyframes=True))
    assert row.budget_used == pytest.approx(1.0)  # 2 of 2 frames
    assert "(keyframes f1)" in row.prompt[1].content


# ---- the budget reward and GRPO wiring ----------------------------------------------------------------------


def prompt_for(view: VideoView) -> list[dict[str, str]]:
    return [{"role": "system", "content": "s"}, {"role": "user", "content": text_view(view, keyframes=True)}]


def wrap(think: str, answer: str) -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


def test_budget_reward_hand_computed():
    p = prompt_for(make_view())  # 3 shots
    cols = {"solution": ["B"], "problem_type": ["multiple choice"], "options": [["A. dog", "B. car"]], "prompts": [p]}
    one = wrap("In shot 2 [4.00–8.00s], a car.", "B")
    assert budget_reward([one], **cols) == [pytest.approx(0.5 * (1 - 1 / 3))]  # correct, 1 of 3 shots: 0.3333
    # shots 2 and 1 viewed, shot 2 twice (two sentences): 0.5 × (1 − 2/3) − 0.1 × 1 = 0.0667
    twice = wrap("In shot 2 [4.00–8.00s], a car. Before [0.00–4.00s] people. Back to [kf f1], the car.", "B")
    assert budget_reward([twice], **cols) == [pytest.approx(0.5 / 3 - 0.1)]
    assert budget_reward([wrap("In shot 2 [4.00–8.00s], a car.", "A")], **cols) == [0.0]  # wrong: no bonus
    wrong_repeat = wrap("[4.00–8.00s] car. [6.00s] car. [kf f1] car.", "A")
    assert budget_reward([wrong_repeat], **cols) == [pytest.approx(-0.2)]  # wrong, shot 2 viewed 3 times
    assert budget_reward([wrap("It is a car.", "B")], **cols) == [0.0]  # looked at nothing: earns nothing
    no_prompt = {k: v for k, v in cols.items() if k != "prompts"}
    assert budget_reward([one], **no_prompt) == [0.0]


def test_grpo_wires_citation_and_budget_rewards_with_configured_weights():
    default_names = [getattr(f, "func", f).__name__ for f in reward_setup(GrpoSettings())[0]]
    assert "citation_reward" not in default_names and "budget_reward" not in default_names  # off by default
    settings = build(
        GrpoSettings,
        {"rewards": {"weights": {"accuracy": 1.0, "citation": 0.2, "budget": 0.1},
                     "budget": {"bonus": 1.0, "repeat_penalty": 0.25}}},
        "grpo",
    )  # fmt: skip
    funcs, weights = reward_setup(settings)
    names = [getattr(f, "func", f).__name__ for f in funcs]
    assert names == ["accuracy_reward", "citation_reward", "budget_reward"] and weights == [1.0, 0.2, 0.1]
    p = prompt_for(make_view())
    twice = wrap("In shot 2 [4.00–8.00s] [kf f1], a car. Again [6.00s].", "B")
    cols = {"solution": ["B"], "problem_type": ["multiple choice"], "options": [["A. dog", "B. car"]], "prompts": [p]}
    assert funcs[1]([twice], **cols) == [1.0]  # 3 citations, all valid
    assert funcs[2]([twice], **cols) == [pytest.approx(1.0 * (1 - 1 / 3) - 0.25)]
    assert citation_reward([twice], prompts=[p]) == [1.0]
    with pytest.raises(ValueError, match="grpo.rewards.budget"):
        build(GrpoSettings, {"rewards": {"budget": {"bonsu": 1}}}, "grpo")
