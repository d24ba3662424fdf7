"""Balanced tasks: each letter the answer equally often per generator, Yes as often as No, counts not mostly 1,
ordering lists in random order — on crafted skewed tasks and on the tasks stage's real output."""

from __future__ import annotations

from collections import Counter

from curation.balance import answer_text, assign_letters, balance_tasks, even_yes_no, flat_cap, flatten_answers
from curation.tasks import TasksConfig, TasksStage
from curation.tasks.ids import task_id
from schemas import TaskRecord
from schemas.shortcuts import BlindItem, blind_answers, chance, matches
from tests.views import make_view, other_view, silent_view


def mc(i: int, generator: str = "visible", answer: str = "B", n: int = 4, video: str | None = None) -> TaskRecord:
    texts = [f"thing{i}-{k}" for k in range(n)]
    options = [f"{chr(65 + k)}. {t}" for k, t in enumerate(texts)]
    question = f"Which of these objects can be seen in the video between {i}s and {i + 1}s?"
    vid = video or f"v{i % 5}"
    return TaskRecord(task_id(vid, generator, question, answer, options), vid, generator, "multiple choice", question,
                      answer, options=options)  # fmt: skip


def test_letters_are_assigned_evenly_and_the_right_text_stays_right():
    skewed = [mc(i) for i in range(41)]  # every answer B
    out = assign_letters(skewed, seed=0)
    letters = Counter(t.answer for t in out)
    assert set(letters) == {"A", "B", "C", "D"} and max(letters.values()) - min(letters.values()) <= 1
    for before, after in zip(skewed, out, strict=True):
        assert answer_text(after) == answer_text(before)  # the same option is right, only its letter moved
        assert sorted(after.options[k][3:] for k in range(4)) == sorted(before.options[k][3:] for k in range(4))
        changed = after.options != before.options
        assert (after.task_id != before.task_id) == changed
        assert after.task_id == task_id(after.video_id, "visible", after.question, after.answer, after.options)
    assert assign_letters(skewed, seed=0) == out  # deterministic
    assert [t.answer for t in assign_letters(skewed, seed=1)] != [t.answer for t in out]


def test_letters_are_even_per_generator_and_user_letters_are_kept():
    tasks = [mc(i, "visible") for i in range(12)] + [mc(i, "absence", "A", 3) for i in range(9)]
    tasks += [mc(i, "user", "C") for i in range(5)]
    out = assign_letters(tasks)
    for gen, n in (("visible", 4), ("absence", 3)):
        got = Counter(t.answer for t in out if t.generator == gen)
        assert len(got) == n and set(got.values()) == {3}
    assert all(t.answer == "C" for t in out if t.generator == "user")
    # many small groups: their odd ones out do not all land on A
    small = [mc(i, f"gen{i // 3}") for i in range(30)]  # ten generators with three tasks each
    assert set(Counter(t.answer for t in assign_letters(small)).values()) <= {7, 8}


def absence(i: int, answer_text: str) -> TaskRecord:
    texts = ["Yes", "No", "Cannot be determined from the video"]
    options = [f"{chr(65 + k)}. {t}" for k, t in enumerate(texts)]
    q = f'Is a "thing{i}" visible anywhere in the video?'
    return TaskRecord(f"a{i}", f"v{i % 4}", "absence", "multiple choice", q, "ABC"[texts.index(answer_text)],
                      options=options)  # fmt: skip


def test_yes_and_no_are_evened_out_across_videos():
    tasks = [absence(i, "No") for i in range(12)] + [absence(100 + i, "Yes") for i in range(5)]
    tasks += [absence(200 + i, "Cannot be determined from the video") for i in range(2)]
    out = even_yes_no(tasks)
    got = Counter(answer_text(t) for t in out)
    assert got == {"Yes": 5, "No": 5, "Cannot be determined from the video": 2}
    assert {t.video_id for t in out if answer_text(t) == "No"} == {"v0", "v1", "v2", "v3"}
    silent = tasks + [absence(300 + i, "Cannot be determined from the video") for i in range(7)]  # 9 in all
    got = Counter(answer_text(t) for t in even_yes_no(silent))
    assert got == {"Yes": 5, "No": 5, "Cannot be determined from the video": 5}


def count(i: int, answer: int) -> TaskRecord:
    q = f"How many people can be seen in the video between {i}s and {i + 2}s?"
    return TaskRecord(f"c{i}", f"v{i % 3}", "counting", "numerical", q, str(answer))


def test_counts_are_not_mostly_one():
    tasks = [count(i, 1) for i in range(20)] + [count(100 + i, 2) for i in range(6)] + [count(200, 3)]
    tasks += [count(300 + i, 3) for i in range(3)]
    assert flat_cap(Counter({"1": 20, "2": 6, "3": 4})) == 5  # 5 of 14 ≤ 1/3 + FLAT_MARGIN
    out = flatten_answers(tasks)
    got = Counter(t.answer for t in out)
    assert got == {"1": 5, "2": 5, "3": 4}
    items = [BlindItem(t.question, t.problem_type, t.answer) for t in out]
    one = blind_answers(items)["count_one"]
    assert (
        sum(matches(a, it) for a, it in zip(one, items, strict=True)) / len(items)
        <= sum(chance(items)) / len(items) + 0.05
    )


def test_the_tasks_stage_output_is_balanced():
    views = [make_view(), other_view(), silent_view()]
    tasks, _ = TasksStage(TasksConfig(max_per_video=6, absence_share=0.5)).generate(views)
    groups = {(t.generator, len(t.options)) for t in tasks if t.problem_type == "multiple choice"}
    assert {("visible", 4), ("absence", 2), ("absence", 3)} <= groups
    for gen, n in groups:
        letters = Counter(t.answer for t in tasks if (t.generator, len(t.options)) == (gen, n))
        assert len(letters) == min(n, sum(letters.values())), (gen, n, letters)
        assert max(letters.values()) - min(letters.values()) <= 1, (gen, n, letters)
    for n in (2, 3):
        yes_no = Counter(answer_text(t) for t in tasks if t.generator == "absence" and len(t.options) == n)
        assert yes_no["Yes"] == yes_no["No"] > 0, (n, yes_no)
    assert len({t.task_id for t in tasks}) == len(tasks)
    again, _ = TasksStage(TasksConfig(max_per_video=6, absence_share=0.5)).generate(views)
    assert [t.task_id for t in again] == [t.task_id for t in tasks]


def test_balance_keeps_a_balanced_set_as_it_is():
    tasks = [absence(i, "Yes") for i in range(3)] + [absence(10 + i, "No") for i in range(3)]
    out = balance_tasks(tasks)
    assert len(out) == 6 and Counter(answer_text(t) for t in out) == {"Yes": 3, "No": 3}
