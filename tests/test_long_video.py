"""Long videos: the task yield grows with the minutes of video (and of speech), tasks cover the whole video,
whole-video questions are asked per window, and the policy's prompt fits the embedded model for an hour of video."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from curation.budget import BudgetConfig, budgeted_messages, select_view
from curation.difficulty import DifficultyConfig, DifficultyStage
from curation.llm.base import GenRequest
from curation.llm.factory import LLMConfig, backend_from_config
from curation.tasks import TasksConfig, TasksStage
from curation.tasks.quota import speech_minutes, task_quota, windows
from schemas import TaskRecord, VideoView
from tests.views import BOX, build_view
from trainers.prompts import fit_prompt
from trainers.textview import task_messages

LABELS = ("dog", "car", "cat", "bus", "bird", "boat", "horse", "cup", "chair", "clock", "bench", "kite")
_BETWEEN = re.compile(r"between (\d+\.\d+)s and (\d+\.\d+)s")


def long_view(video_id: str, minutes: float, shot_s: float = 5.0) -> VideoView:
    """`minutes` of 5-second shots, each with its own pair of objects (one boxed alone), on-screen text in every
    fourth shot, and a spoken sentence in every other shot."""
    n = int(minutes * 60 / shot_s)
    shots, speech = [], []
    for i in range(n):
        a = i * shot_s
        objects = [(LABELS[i % len(LABELS)], 0.9, BOX), (LABELS[(i * 5 + 3) % len(LABELS)], 0.8, (0.6, 0.1, 0.9, 0.4))]
        frame = {"objects": objects, "colours": ["red", "green", "blue"][i % 3 : i % 3 + 1]}
        if i % 4 == 0:
            frame["ocr"] = f"SIGN {i:04d}"
        shots.append({"start": a, "end": a + shot_s, "frames": [frame, frame]})
        if i % 2 == 0:
            words = ["shot", "number", f"n{i}", "says", f"word{i}", "here"]
            speech.append([(w, a + 0.5 + 0.4 * k, a + 0.8 + 0.4 * k) for k, w in enumerate(words)])
    return build_view(video_id, shots, speech)


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, VideoView], list[TaskRecord]]:
    views = [long_view("vid-short", 0.5), long_view("vid-five", 5.0), long_view("vid-other", 1.0)]
    tasks, _ = TasksStage(TasksConfig()).generate(views)
    return {v.video_id: v for v in views}, tasks


def test_quota_is_per_minute_with_a_floor_and_a_cap():
    assert task_quota(0.5, 3.0, 3, 120) == 3  # a short clip keeps the old fixed three
    assert task_quota(5.0, 3.0, 3, 120) == 15
    assert task_quota(5.1, 3.0, 3, 120) == 16  # rounded up
    assert task_quota(60.0, 3.0, 3, 120) == 120  # capped
    assert task_quota(0.5, 3.0, 3, 2) == 2  # the floor gives way to the cap
    view = long_view("v", 2.0)  # a 2.4 s sentence every 10 s: 12 of 120 s spoken
    assert speech_minutes(view) == pytest.approx(12 * 2.3 / 60, abs=1e-6)


def test_yield_grows_with_the_video(generated):
    views, tasks = generated
    per = Counter((t.video_id, t.generator) for t in tasks)
    for gen in ("counting", "boxes", "numeric", "ordering"):
        assert per["vid-short", gen] == 3, gen
        assert per["vid-five", gen] == 15, gen  # 3 a minute
    assert per["vid-short", "ocr"] == 2  # only two shots of the short clip show text
    assert per["vid-five", "ocr"] == 15
    # grounding grows with the minutes of speech (30 sentences of 2.3 s in five minutes: 1.15 min × 4, rounded up)
    assert per["vid-five", "grounding"] == task_quota(speech_minutes(views["vid-five"]), 4.0, 3, 120) == 5
    assert sum(n for (v, _), n in per.items() if v == "vid-five") >= 60


def test_tasks_cover_the_whole_video_not_its_first_minutes(generated):
    _, tasks = generated
    starts = sorted(
        float(m.group(1)) for t in tasks if t.video_id == "vid-five" and t.generator == "boxes"
        for m in [_BETWEEN.search(t.question)] if m
    )  # fmt: skip
    assert len(starts) == 15
    assert starts[0] < 30 and starts[-1] > 270
    assert max(b - a for a, b in zip(starts, starts[1:], strict=False)) <= 30


def test_ordering_is_asked_per_window_with_its_evidence_inside(generated):
    views, tasks = generated
    view = views["vid-five"]
    parts = windows(view, 60.0)
    assert len(parts) == 5
    ordering = [t for t in tasks if t.video_id == "vid-five" and t.generator == "ordering"]
    assert len(ordering) == 15
    shot_start = {s.shot_id: s.start for s in view.shots}
    seen_windows = set()
    for t in ordering:
        m = re.match(r"Consider only the video between (\d+\.\d+)s and (\d+\.\d+)s\. These clips", t.question)
        assert m, t.question
        a, b = float(m.group(1)), float(m.group(2))
        seen_windows.add(a)
        assert all(a <= shot_start[s] < b for s in t.evidence_ids)
        # the viewing budget reads the window from the question: the required shots are the window's
        sel = select_view(t, view, BudgetConfig(max_tokens=256))
        assert set(t.evidence_ids) <= set(sel.shot_ids)
    assert len(seen_windows) == 5
    # the short clip is one window: its questions are the whole video's, as before
    short = [t for t in tasks if t.video_id == "vid-short" and t.generator == "ordering"]
    assert short and all(t.question.startswith("These clips") for t in short)


def test_max_per_video_alone_is_still_a_fixed_count():
    views = [long_view("vid-short", 0.5), long_view("vid-five", 5.0)]
    config = TasksConfig.model_validate({"max_per_video": 4})
    assert config.min_per_video == 4
    tasks, _ = TasksStage(config).generate(views)
    per = Counter((t.video_id, t.generator) for t in tasks)
    assert per["vid-short", "boxes"] == per["vid-five", "boxes"] == 4


@pytest.fixture(scope="module")
def policy():
    backend = backend_from_config(LLMConfig(max_input_tokens=1024))  # a small context: quick to fill on 2 cores
    yield backend
    backend.close()


def test_the_policy_prompt_fits_the_embedded_model_for_an_hour_of_video(policy):
    view = long_view("vid-hour", 60.0)
    tasks, _ = TasksStage(TasksConfig(generators=["visible", "ordering"], max_per_video=2)).generate([view])
    assert tasks
    context = policy.max_input_tokens
    whole = GenRequest(task_messages(tasks[0], view), 8)
    assert len(policy.prompt_tokens(whole)) > context  # the whole view would fail `prompt_too_long`
    for t in tasks:
        fitted = GenRequest(budgeted_messages(t, view, BudgetConfig(max_tokens=100_000), context), 8)
        assert len(policy.prompt_tokens(fitted)) <= context, t.question[:60]
    stage = DifficultyStage(policy, DifficultyConfig(k=1, temperature=0.0, budget=BudgetConfig(max_tokens=100_000)))
    found = stage.estimate(tasks[:1], {view.video_id: view})
    assert [(d.samples, d.errors) for d in found] == [(1, 0)]


def test_a_trainer_prompt_is_cut_to_fit_keeping_the_lines_the_question_names(generated):
    views, tasks = generated
    view = views["vid-five"]
    ordering = [t for t in tasks if t.video_id == "vid-five" and t.generator == "ordering"]
    task = next(t for t in ordering if "between 120.00s" in t.question)
    messages = [{"role": m.role, "content": m.content} for m in task_messages(task, view)]
    whole = sum(len(m["content"]) for m in messages)
    assert whole > 5000

    def fits(prompt: list[dict]) -> bool:
        return sum(len(m["content"]) for m in prompt) <= 3000

    cut = fit_prompt(messages, fits)
    assert cut is not None and fits(cut) and cut[0] == messages[0]
    user = cut[1]["content"]
    assert task.question in user  # the question and its options are never cut
    shot_lines = [line for line in user.splitlines() if line.startswith("Shot ")]
    starts = sorted(float(line.split("[", 1)[1].split("–", 1)[0]) for line in shot_lines)
    assert len([a for a in starts if 120 <= a < 180]) == 12  # every shot of the question's window (12 of 5 s) is kept
    assert starts[0] < 60 and starts[-1] >= 240  # the rest spread over the video, not its start
    assert f", {len(shot_lines)} of 60 shots shown." in user.splitlines()[0]
    assert fit_prompt(messages, lambda p: sum(len(m["content"]) for m in p) <= 100) is None
