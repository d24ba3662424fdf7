"""The shortcut audit: blind rules flag crafted biased pools and pass balanced ones; `vidcot audit` and the card
report it."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.records import PROV
from data_cards.audit import audit_dataset, audit_section
from flows.cli import main as vidcot
from schemas import Message, RlRecord, TaskRecord
from schemas.shortcuts import BlindItem, audit_items, blind_answers, chance, prompt_question
from schemas.store import DatasetWriter

ABSENCE = ("Yes", "No", "Cannot be determined from the video")


def mc_item(i: int, letter: str, n: int = 4) -> BlindItem:
    options = tuple(f"{chr(65 + k)}. thing{i}-{k}" for k in range(n))
    return BlindItem(f"Which of these objects can be seen between {i}s and {i + 2}s?", "multiple choice", letter,
                     options)  # fmt: skip


def absence_item(i: int, answer: str, order: tuple[str, ...] = ABSENCE) -> BlindItem:
    options = tuple(f"{chr(65 + k)}. {t}" for k, t in enumerate(order))
    return BlindItem(f'Is a "thing{i}" visible anywhere in the video?', "multiple choice",
                     "ABC"[order.index(answer)], options)  # fmt: skip


def ordering_item(i: int, answer: str) -> BlindItem:
    q = f"These clips from the video are listed in random order:\n1. dog {i}\n2. cat\n3. car\nIn what order?"
    return BlindItem(q, "ordering", answer)


def flagged(items: list[BlindItem]) -> set[str]:
    return {r.rule for a in audit_items("rl", items) for r in a.flagged}


def test_a_pool_where_b_is_always_right_is_flagged():
    items = [mc_item(i, "B") for i in range(24)]
    (a,) = audit_items("rl", items)
    rules = {r.rule: r for r in a.rules}
    assert a.chance == 0.25 and a.letters == {"B": 24}
    assert rules["constant"].score == 1.0 and rules["constant"].flagged
    assert rules["question_majority"].score == 1.0 and rules["question_majority"].flagged  # the majority letter


def test_a_balanced_pool_is_not_flagged():
    items = [mc_item(i, "ABCD"[i % 4]) for i in range(24)]
    items += [absence_item(i, ("Yes", "No")[i % 2], ("Yes", "No") if i % 4 < 2 else ("No", "Yes")) for i in range(24)]
    perms = ["1, 2, 3", "1, 3, 2", "2, 1, 3", "2, 3, 1", "3, 1, 2", "3, 2, 1"]
    items += [ordering_item(i, perms[i % 6]) for i in range(24)]
    assert flagged(items) == set()
    audits = {a.problem_type: a for a in audit_items("rl", items)}
    assert audits["multiple choice"].yes_share == 0.5
    assert abs(audits["ordering"].chance - 1 / 6) < 1e-9


def test_the_construction_priors_are_flagged():
    no = [absence_item(i, "No", ABSENCE if i % 2 else ABSENCE[::-1]) for i in range(30)]
    assert "absence_no" in flagged(no) and "question_majority" in flagged(no)
    listed = [ordering_item(i, "1, 2, 3") for i in range(20)]
    assert "listed_order" in flagged(listed)
    ones = [BlindItem(f"How many dogs can be seen between {i}s and {i + 1}s?", "numerical", "1" if i % 5 else "2")
            for i in range(25)]  # fmt: skip
    assert {"count_one", "constant"} <= flagged(ones)
    assert chance(ones)[0] == 0.5  # two answers in use for the template
    small = [mc_item(i, "B") for i in range(19)]  # under 20 items: reported, not flagged
    assert flagged(small) == set()


def test_question_majority_is_leave_one_out():
    items = [mc_item(0, "A"), mc_item(1, "B")]  # the same template; each item's peers say the other letter
    assert blind_answers(items)["question_majority"] == ["B", "A"]


def test_the_question_is_read_off_the_prompt():
    user = 'Video: 12 s\nQuestion: Is a "dog" visible anywhere in the video?\nOptions:\nA. Yes\nAnswer format: x'
    assert prompt_question(user) == 'Is a "dog" visible anywhere in the video?'
    assert prompt_question("Question: How long?\nAnswer format: a number") == "How long?"


def write_pool(root: Path, letters: str) -> None:
    tasks, rows = [], []
    for i, letter in enumerate(letters):
        t = mc_item(i, letter)
        task = TaskRecord(f"t{i}", f"v{i % 3}", "visible", "multiple choice", t.question, letter, list(t.options))
        tasks.append(task)
        prompt = [Message("user", f"Question: {t.question}\nOptions:\n" + "\n".join(t.options) + "\nAnswer format: x")]
        rows.append(RlRecord(f"r{i}", task.task_id, task.video_id, "train", task.problem_type, prompt, letter,
                             list(t.options), provenance=PROV))  # fmt: skip
    with DatasetWriter(root) as w:
        w.append("tasks", tasks)
        w.append("rl", rows)
        w.commit()


def test_vidcot_audit_reports_a_biased_dataset(tmp_path, capsys):
    biased, balanced = tmp_path / "biased", tmp_path / "balanced"
    write_pool(biased, "B" * 22 + "AC")
    write_pool(balanced, "ABCD" * 6)
    assert vidcot(["audit", str(biased), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "rl / multiple choice: best constant answer" in doc["flagged"]
    assert "tasks / multiple choice: best constant answer" in doc["flagged"]
    rl = next(a for a in doc["audits"] if a["pool"] == "rl")
    assert rl["letters"] == {"A": 1, "B": 22, "C": 1} and rl["items"] == 24
    assert vidcot(["audit", str(balanced)]) == 0
    out = capsys.readouterr().out
    assert "No blind rule beats chance here." in out and "answer letters A 6, B 6, C 6, D 6" in out
    section = audit_section(audit_dataset(biased))
    assert "**Shortcuts found:**" in section and "**shortcut**" in section
