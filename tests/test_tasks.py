"""Silver tasks, subtitle leakage, user questions and splits — on hand-built views with known ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.splits import SplitConfig, assign_splits
from curation.tasks import TasksConfig, TasksStage, UserTasksError, is_subtitle_leak, load_user_tasks
from schemas import (
    TaskRecord,
    VideoView,
)
from tests.views import BOX, build_view, kitchen_view, street_view
from trainers.rewards import answer_score, choice_letter


def evidence_values(view: VideoView) -> dict[str, set[str]]:
    """Per shot, every label/text/colour its keyframes show (lower case)."""
    out: dict[str, set[str]] = {}
    for e in view.evidence:
        vals = out.setdefault(e.shot_id, set())
        vals |= {o.label.lower() for o in e.objects} | {c.lower() for c in e.colours}
        if e.ocr_text:
            vals.add(e.ocr_text.lower())
    return out


@pytest.fixture(scope="module")
def generated() -> tuple[list[VideoView], list[TaskRecord], list]:
    views = [street_view(), kitchen_view()]
    tasks, rejects = TasksStage(TasksConfig(max_per_video=10)).generate(views)
    return views, tasks, rejects


def by_gen(tasks: list[TaskRecord], name: str) -> list[TaskRecord]:
    return [t for t in tasks if t.generator == name]


def test_grounding_span_is_the_word_timestamps_and_repeated_phrase_is_dropped(generated):
    views, tasks, rejects = generated
    grounding = by_gen(tasks, "grounding")
    assert [t.span for t in grounding] == [[3.2, 4.6]]  # "the quick brown fox": first word start, last word end
    (task,) = grounding
    assert '"the quick brown fox"' in task.question
    assert task.answer == "[3.20, 4.60]" and task.problem_type == "span"
    assert task.evidence_ids == ["vid-street-g1"]
    assert answer_score("[3.2, 4.6]", task.answer, "span") == pytest.approx(1.0)
    ambiguous = [r for r in rejects if r.reason == "ambiguous_phrase"]
    assert len(ambiguous) == 2 and all('"look at this car"' in r.detail for r in ambiguous)
    # No grounding (or other) question asks where an ambiguous phrase is; an absence question may still ask whether
    # another video says it, since its answer does not depend on which of the two times is meant.
    assert not any("look at this" in t.question for t in tasks if t.generator != "absence")


def test_ordering_answer_is_the_time_order_of_shown_clips(generated):
    views, tasks, _ = generated
    street = views[0]
    shot_start = {s.shot_id: s.start for s in street.shots}
    ordering = by_gen(tasks, "ordering")
    assert ordering and all(t.video_id == "vid-street" for t in ordering)
    for t in ordering:
        shown = [line.split(". ", 1)[1] for line in t.question.splitlines() if line[:1].isdigit()]
        order = [int(x) for x in t.answer.split(", ")]
        assert sorted(order) == list(range(1, len(shown) + 1)) and order != sorted(order)
        # evidence_ids are the shots in time order; clip order[k] must describe the k-th of them.
        assert [shot_start[s] for s in t.evidence_ids] == sorted(shot_start[s] for s in t.evidence_ids)
        descriptions = evidence_values(street)
        for k, shot_id in enumerate(t.evidence_ids):
            words = shown[order[k] - 1].lower()
            assert any(v in words for v in descriptions[shot_id])


def test_ordering_dropped_when_shots_look_alike():
    same = {"frames": [{"objects": [("car", 0.9, BOX)], "colours": ["red"]}]}
    view = build_view("vid-same", [{"start": i * 2.0, "end": i * 2.0 + 2, **same} for i in range(4)])
    tasks, rejects = TasksStage(TasksConfig(generators=["ordering"])).generate([view])
    assert tasks == [] and [r.reason for r in rejects] == ["indistinguishable_shots"]
    one = build_view("vid-one", [{"start": 0.0, "end": 5.0, **same}])
    tasks, rejects = TasksStage(TasksConfig(generators=["ordering", "numeric"])).generate([one])
    assert {r.reason for r in rejects} == {"too_few_shots", "one_shot"}


def test_distractors_differ_from_answer_and_come_from_other_shots_or_videos(generated):
    views, tasks, _ = generated
    values = {sid: vals for v in views for sid, vals in evidence_values(v).items()}
    visible = by_gen(tasks, "visible")
    assert len({t.video_id for t in visible}) == 2
    for t in visible:
        shot_id = t.evidence_ids[0]
        texts = {o.split(". ", 1)[0]: o.split(". ", 1)[1] for o in t.options}
        assert len(texts) == 4 and choice_letter(t.answer, t.options) == t.answer
        assert texts[t.answer].lower() in values[shot_id]
        for letter, text in texts.items():
            if letter == t.answer:
                continue
            assert text != texts[t.answer]
            assert text.lower() not in values[shot_id]
            assert any(text.lower() in vals for sid, vals in values.items() if sid != shot_id)


def test_counting_ocr_numeric_boxes_answers(generated):
    _, tasks, rejects = generated
    counts = {t.question: t.answer for t in by_gen(tasks, "counting")}
    assert counts["How many people can be seen in the video between 3.00s and 6.00s?"] == "2"
    assert counts["How many cars can be seen in the video between 0.00s and 3.00s?"] == "1"
    assert any(t.answer == "4" and "How many shots" in t.question for t in by_gen(tasks, "counting"))
    ocr = by_gen(tasks, "ocr")
    assert {(t.video_id, t.answer) for t in ocr} == {("vid-street", "OPEN DAILY"), ("vid-kitchen", "SALE")}
    numeric = {(t.video_id, t.question): t.answer for t in by_gen(tasks, "numeric")}
    assert numeric[("vid-street", "How long is the video, in seconds?")] == "12"
    assert numeric[("vid-street", "At what time, in seconds, does the second shot of the video begin?")] == "3"
    boxes = by_gen(tasks, "boxes")
    car = next(t for t in boxes if "car" in t.question)
    assert json.loads(car.answer) == [
        {"time": 1.0, "x1": 0.1, "y1": 0.2, "x2": 0.5, "y2": 0.6},
        {"time": 2.0, "x1": 0.1, "y1": 0.2, "x2": 0.5, "y2": 0.6},
    ]
    assert answer_score(car.answer, car.answer, "box") == pytest.approx(1.0)
    assert not any("person" in t.question for t in boxes)  # two people per frame: ambiguous
    assert any(r.reason == "several_instances" and "person" in r.detail for r in rejects)


def test_task_ids_are_deterministic_and_problem_types_valid(generated):
    views, tasks, _ = generated
    again, _ = TasksStage(TasksConfig(max_per_video=10)).generate(views)
    assert sorted(t.task_id for t in again) == sorted(t.task_id for t in tasks)
    assert len({t.task_id for t in tasks}) == len(tasks)
    for t in tasks:
        assert answer_score(t.answer, t.answer, t.problem_type, t.options) == pytest.approx(1.0), t


def test_subtitle_leak_flags_spoken_answers(generated):
    views, tasks, _ = generated
    assert all(t.subtitle_leak for t in by_gen(tasks, "grounding"))
    street = views[0]
    # "car" is said and is the answer of the object question about the first shot.
    car_q = next(
        t for t in by_gen(tasks, "visible") if t.evidence_ids[0] == "vid-street-s0" and "objects" in t.question
    )
    assert car_q.subtitle_leak
    dog_q = next(
        t for t in by_gen(tasks, "visible") if t.evidence_ids[0] == "vid-street-s3" and "objects" in t.question
    )
    assert not dog_q.subtitle_leak
    ocr = TaskRecord("x", street.video_id, "user", "OCR", "What is written?", "quick brown")
    assert is_subtitle_leak(ocr, street)
    ocr.answer = "brown quick"  # words must occur in order
    assert not is_subtitle_leak(ocr, street)


def test_user_tasks_enter_the_same_path(tmp_path: Path):
    view = street_view()
    f = tmp_path / "q.jsonl"
    rows = [
        {"video": "/videos/vid-street.mp4", "question": "What colour is the car?", "answer": "red",
         "problem_type": "multiple choice", "options": ["blue", "red", "green"]},
        {"video_id": "vid-street", "question": "When does the dog appear?", "problem_type": "span",
         "span": [9, 12]},
    ]  # fmt: skip
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    tasks, _ = TasksStage(TasksConfig(generators=[], user_tasks=str(f))).generate([view])
    mc, span = sorted(tasks, key=lambda t: t.problem_type)
    assert (mc.answer, mc.options) == ("B", ["A. blue", "B. red", "C. green"])
    assert (span.answer, span.span) == ("[9.00, 12.00]", [9.0, 12.0])
    assert {t.generator for t in tasks} == {"user"} and {t.split for t in tasks} == {"train"}


def test_user_task_errors_name_line_and_field(tmp_path: Path):
    view = street_view()
    f = tmp_path / "q.csv"
    f.write_text(
        "video,question,answer,problem_type,options\n"
        "vid-street,How many shots?,4,numerical,\n"
        "vid-street,How many dogs?,many,numerical,\n"
        "vid-nowhere,What?,x,free-form,\n"
        "vid-street,Pick,Z,multiple choice,a | b\n"
        "vid-street,Which?,x,essay,\n"
    )
    with pytest.raises(UserTasksError) as err:
        load_user_tasks(f, [view])
    msg = str(err.value)
    assert f"{f}:3: field 'answer': numerical answers must be a number" in msg
    assert f"{f}:4: field 'video': no video 'vid-nowhere'" in msg
    assert f"{f}:5: field 'answer': 'Z' is neither an option letter" in msg
    assert f"{f}:6: field 'problem_type': 'essay' is not one of" in msg
    assert ":2:" not in msg
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"video": "vid-street", "question": "q", "problem_type": "span", "span": [5, 50]}\n{oops\n')
    with pytest.raises(UserTasksError, match=r"q.jsonl:1: field 'span': ends at 50.0s.*\n.*q.jsonl:2: not valid JSON"):
        load_user_tasks(bad, [view])


def test_splits_keep_each_video_in_one_split_and_test_is_never_empty():
    ids = [f"video-{i}" for i in range(200)]
    splits = assign_splits(ids)
    assert splits == assign_splits(list(reversed(ids)))  # independent of order
    share = {s: sum(v == s for v in splits.values()) / len(ids) for s in ("train", "val", "test")}
    assert 0.7 < share["train"] < 0.9 and share["val"] > 0.03 and share["test"] > 0.03
    for n in range(3, 8):
        few = assign_splits(ids[:n])
        assert "test" in few.values() and "train" in few.values()
    assert set(assign_splits(ids[:2]).values()) <= {"train", "val", "test"}
    with pytest.raises(ValueError, match="must be 1"):
        SplitConfig(train=0.9, val=0.1, test=0.1)
