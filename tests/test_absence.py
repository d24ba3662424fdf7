"""Absence questions: answers the evidence really does not contain, the configured share, and chains that state
the checked absence."""

from __future__ import annotations

import dataclasses

import pytest

from curation.refine import RefineConfig, RefineStage
from curation.skeleton import build_skeleton
from curation.tasks import TasksConfig, TasksStage
from curation.tasks.absence import NO, UNKNOWN, YES, Generator, absence_statement, absence_subject
from curation.tasks.base import cap_share
from curation.tasks.leakage import transcript_words, words
from schemas import CotRecord, Provenance, TaskRecord, VideoView
from tests.views import make_view, other_view, silent_view
from trainers.citations import check_citations
from trainers.rewards import parse_completion


def option_text(task: TaskRecord) -> str:
    return next(o[3:] for o in task.options if o.startswith(task.answer + "."))


def generate(views: list[VideoView], per_video: int = 6) -> list[TaskRecord]:
    cfg = TasksConfig(max_per_video=per_video)
    gen = Generator(cfg, Provenance("tasks", "0", "0"))
    return [t for v in views for t in gen.generate(v, views) if isinstance(t, TaskRecord)]


def test_absence_answers_match_the_evidence():
    views = [make_view(), other_view(), silent_view()]
    by_id = {v.video_id: v for v in views}
    tasks = generate(views)
    assert {absence_subject(t)[0] for t in tasks if absence_subject(t)} == {"object", "speech"}  # type: ignore[index]
    for t in tasks:
        view = by_id[t.video_id]
        kind, what = absence_subject(t)  # type: ignore[misc]
        offered = [YES, NO, UNKNOWN] if kind == "speech" else [YES, NO]  # an object is never undeterminable
        assert sorted(o[3:] for o in t.options) == sorted(offered)
        if kind == "object":
            labels = {o.label.lower() for e in view.evidence for o in e.objects}  # any score
            shown = what in labels or what in " ".join(e.ocr_text.lower() for e in view.evidence)
            assert option_text(t) == (YES if shown else NO)
        else:
            spoken = f" {' '.join(words(what))} " in " " + " ".join(transcript_words(view)) + " "
            assert option_text(t) == (YES if spoken else NO if view.video.has_audio else UNKNOWN)
    # make_view is asked about the cat, the bicycle and the weather (absent) and what it shows and says (present)
    asked = {absence_subject(t)[1]: option_text(t) for t in tasks if t.video_id == "vid"}  # type: ignore[index]
    assert {k for k, v in asked.items() if v == NO} <= {"bicycle", "cat", "the weather is nice"}
    assert {v for v in asked.values()} == {YES, NO}
    assert {k for k, v in asked.items() if v == YES} <= {"car", "dog", "person", *map(" ".join, _fours(views[0]))}
    silent = [t for t in tasks if t.video_id == "vid3" and absence_subject(t)[0] == "speech"]  # type: ignore[index]
    assert silent and all(option_text(t) == UNKNOWN for t in silent)


def _fours(view: VideoView) -> list[tuple[str, ...]]:
    toks = transcript_words(view)
    return [tuple(toks[i : i + 4]) for i in range(len(toks) - 3)]


def test_yes_chains_say_where_the_subject_is():
    view = make_view()
    tasks = generate([view, other_view()])
    yes = [t for t in tasks if t.video_id == "vid" and option_text(t) == YES]
    assert yes
    for t in yes:
        statement = absence_statement(t, view)
        kind, what = absence_subject(t)  # type: ignore[misc]
        assert what in statement and "No keyframe" not in statement and "never" not in statement
        assert check_citations(statement, view).accuracy == 1.0
        # refinement states it once, though the built chain carries keyframe ids the bare statement has not
        think = build_skeleton(t, view).think  # type: ignore[union-attr]
        assert "[kf " in think and RefineStage(RefineConfig(llm=None)).prepare(think, t, view) == think


def test_a_lone_video_gets_no_absence_question():
    gen = Generator(TasksConfig(), Provenance("tasks", "0", "0"))
    (only,) = gen.generate(make_view(), [make_view()])
    assert not isinstance(only, TaskRecord) and only.reason == "no_other_videos"


def test_share_is_capped_and_configurable():
    tasks = [TaskRecord(f"t{i}", f"v{i % 3}", "visible", "multiple choice", "q", "A") for i in range(17)]
    tasks += [TaskRecord(f"a{i}", f"v{i % 3}", "absence", "multiple choice", "q", "B") for i in range(10)]
    for share, most in ((0.15, 3), (0.5, 10), (0.0, 0)):
        kept = cap_share(tasks, "absence", share)
        n_abs = sum(t.generator == "absence" for t in kept)
        assert n_abs == most and len(kept) == 17 + most
        assert n_abs <= share * len(kept) + 1e-9
    # spread over videos, round-robin
    assert {t.video_id for t in cap_share(tasks, "absence", 0.15) if t.generator == "absence"} == {"v0", "v1", "v2"}
    views = [make_view(), other_view(), silent_view()]
    stage = TasksStage(TasksConfig(absence_share=0.2, max_per_video=2))
    made, _ = stage.generate(views)
    n_abs = sum(t.generator == "absence" for t in made)
    assert 0 < n_abs <= 0.2 * len(made)
    off, _ = TasksStage(TasksConfig(absence_share=0.0)).generate(views)
    assert not any(t.generator == "absence" for t in off)


def test_absence_chains_state_the_checked_absence():
    view = make_view()
    tasks = generate([view, other_view()])
    cat = next(t for t in tasks if t.video_id == "vid" and absence_subject(t) == ("object", "cat"))
    said = next(t for t in tasks if t.video_id == "vid" and absence_subject(t)[0] == "speech")  # type: ignore[index]
    assert absence_statement(cat, view) == "No keyframe of the video [0.00–12.00s] shows a cat."
    a = cat.answer
    draft = f"<think>In shot 1 [0.00–4.00s], two people. So the answer is {a}.</think><answer>{a}</answer>"
    drafts = [CotRecord(f"c{i}", t.task_id, "vid", "m", draft.replace(cat.answer, t.answer), None, None, 0.0, 0.0,
                        0.0, 0.0, 0.0, False, None) for i, t in enumerate((cat, said))]  # fmt: skip
    out = RefineStage(RefineConfig(llm=None)).process_batch([(drafts[0], cat, view), (drafts[1], said, view)])
    for c, t in zip(out, (cat, said), strict=True):
        assert isinstance(c, CotRecord) and c.grounding == 1.0
        think = parse_completion(c.refined or "").think or ""
        assert absence_statement(t, view) in think
        assert check_citations(think, view).accuracy == 1.0
    # a chain that claims the absent thing is there is not grounded
    lying = "<think>In shot 3 [8.00–12.00s], a cat sleeps. So the answer is A.</think><answer>A</answer>"
    (r,) = RefineStage(RefineConfig(llm=None, deterministic_fallback=False)).process_batch(
        [(dataclasses.replace(drafts[0], draft=lying), cat, view)]
    )
    assert not isinstance(r, CotRecord) and "'cat'" in r.detail


@pytest.mark.slow
def test_absence_tasks_of_a_curated_dataset_are_absent(pipeline_dataset):
    """On the real pipeline output: every absence task's Yes / No is what its own video's evidence says."""
    from curation.views import load_views
    from schemas.store import Dataset

    path, summary = pipeline_dataset
    tasks = [t for t in Dataset(path).read("tasks").to_pylist() if t["generator"] == "absence"]
    views = load_views(path)
    assert tasks, "the four sample clips give absence questions"
    assert summary["synthesis"]["absence_tasks"] == len(tasks)
    for t in tasks:
        task = TaskRecord(**{k: t[k] for k in ("task_id", "video_id", "generator", "problem_type", "question",
                                               "answer", "options")})  # fmt: skip
        view = views[task.video_id]
        kind, what = absence_subject(task)  # type: ignore[misc]
        if kind == "object":
            shown = what in {o.label.lower() for e in view.evidence for o in e.objects}
        else:
            shown = f" {' '.join(words(what))} " in " " + " ".join(transcript_words(view)) + " "
        if option_text(task) in (YES, NO):
            assert shown == (option_text(task) == YES)
