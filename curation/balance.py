"""Collection-level balance of the generated tasks, so that no blind rule can score above chance on them.

A model that sees only the question and options must not be able to beat a uniform guess (the shortcut audit,
`data_cards.audit`, measures it). Three passes, all deterministic given the seed:

- **letters**: within each generator and option count, the right answer is moved to letters A, B, C, … in turn
  (over the tasks in a seeded order), so each letter is the answer equally often (±1) — assigned, not shuffled,
  since a shuffle of a small pool still leaves one letter ahead;
- **Yes / No**: absence questions answered "Yes" and "No" are cut to the same number per option set (the larger
  side loses its surplus, spread over videos), and "Cannot be determined" to no more than that;
- **flat answers**: for each question template of the counting generator ("How many people …", "How many
  shots …"), no answer may be right more often than a uniform guess among the template's answers plus
  `FLAT_MARGIN` (most counts are 1 otherwise).

A task whose options move gets a new `task_id` (ids include the options).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import string
from collections import Counter, defaultdict
from collections.abc import Callable

from schemas import TaskRecord
from schemas.shortcuts import question_template

_LETTERED = re.compile(r"^([A-Z])\.\s(.*)$", re.S)
# The generators whose letters the user chose, not vidcot: left as they are.
KEEP_LETTERS = ("user",)
FLAT_GENERATORS = ("counting",)
# How far above a uniform guess among a template's answers the most common one may be.
FLAT_MARGIN = 0.03
YES, NO, UNKNOWN = "yes", "no", "cannot be determined from the video"


def balance_tasks(tasks: list[TaskRecord], seed: int = 0) -> list[TaskRecord]:
    """`tasks` with Yes/No and counts evened out and option letters assigned evenly (see the module docstring)."""
    kept = even_yes_no(tasks)
    kept = flatten_answers(kept)
    return assign_letters(kept, seed)


def _order_key(seed: int, salt: str) -> Callable[[TaskRecord], str]:
    return lambda t: hashlib.sha256(f"{seed}:{salt}:{t.task_id}".encode()).hexdigest()


def option_texts(task: TaskRecord) -> list[str] | None:
    """The options without their letters, or None when they are not all lettered "A. …" in order."""
    texts = []
    for i, opt in enumerate(task.options):
        m = _LETTERED.match(opt)
        if m is None or m.group(1) != string.ascii_uppercase[i]:
            return None
        texts.append(m.group(2))
    return texts


def answer_text(task: TaskRecord) -> str | None:
    """The text of the right option of a lettered multiple-choice task."""
    texts = option_texts(task)
    letter = task.answer.strip().upper()[:1]
    if not texts or not letter or not "A" <= letter <= string.ascii_uppercase[len(texts) - 1]:
        return None
    return texts[ord(letter) - ord("A")]


def with_answer_at(task: TaskRecord, position: int) -> TaskRecord:
    """The task with its right option moved to `position` (the others keep their order) and a new id."""
    texts = option_texts(task)
    assert texts is not None
    right = ord(task.answer.strip().upper()[:1]) - ord("A")
    others = [t for i, t in enumerate(texts) if i != right]
    moved = [*others[:position], texts[right], *others[position:]]
    options = [f"{string.ascii_uppercase[i]}. {t}" for i, t in enumerate(moved)]
    letter = string.ascii_uppercase[position]
    if options == task.options:
        return task
    from curation.tasks.ids import task_id  # here: the tasks stage imports this module

    new_id = task_id(task.video_id, task.generator, task.question, letter, options)
    return dataclasses.replace(task, options=options, answer=letter, task_id=new_id)


def assign_letters(tasks: list[TaskRecord], seed: int = 0) -> list[TaskRecord]:
    """Each letter the answer equally often (±1) within each (generator, problem type, option count), and over
    all the groups of one option count."""
    groups: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for i, t in enumerate(tasks):
        if t.problem_type == "multiple choice" and t.generator not in KEEP_LETTERS and answer_text(t) is not None:
            groups[(t.generator, t.problem_type, len(t.options))].append(i)
    out = list(tasks)
    # The cycle runs on from one group to the next of the same option count, so the groups' odd ones out fall on
    # different letters and the letters stay even over a whole problem type too (a constant letter gains nothing).
    cycle: Counter[int] = Counter()
    for (generator, kind, n), members in sorted(groups.items()):
        key = _order_key(seed, f"letters:{generator}:{kind}:{n}")
        for rank, i in enumerate(sorted(members, key=lambda i: key(tasks[i]))):
            out[i] = with_answer_at(tasks[i], (cycle[n] + rank) % n)
        cycle[n] += len(members)
    return out


def _drop_surplus(tasks: list[TaskRecord], surplus: list[TaskRecord], keep: int) -> list[TaskRecord]:
    """`tasks` less all but `keep` of `surplus`, keeping them spread over videos (round-robin, by id)."""
    if len(surplus) <= keep:
        return tasks
    per_video: dict[str, list[TaskRecord]] = defaultdict(list)
    for t in sorted(surplus, key=lambda t: (t.video_id, t.task_id)):
        per_video[t.video_id].append(t)
    kept: list[TaskRecord] = []
    while len(kept) < keep:
        for queue in per_video.values():
            if queue and len(kept) < keep:
                kept.append(queue.pop(0))
    drop = {t.task_id for t in surplus} - {t.task_id for t in kept}
    return [t for t in tasks if t.task_id not in drop]


def even_yes_no(tasks: list[TaskRecord]) -> list[TaskRecord]:
    """Absence tasks answered Yes and No cut to the same number per option set (objects: Yes / No; speech: Yes /
    No / Cannot be determined), and "Cannot be determined" to no more than that (silent videos make many)."""
    sides: dict[tuple[int, str], list[TaskRecord]] = defaultdict(list)
    for t in tasks:
        text = (answer_text(t) or "").lower() if t.generator == "absence" else ""
        if text in (YES, NO, UNKNOWN):
            sides[(len(t.options), text)].append(t)
    for n in {n for n, _ in sides}:
        keep = min(len(sides[(n, YES)]), len(sides[(n, NO)]))
        for side in (YES, NO):
            tasks = _drop_surplus(tasks, sides[(n, side)], keep)
        if keep:
            tasks = _drop_surplus(tasks, sides[(n, UNKNOWN)], keep)
    return tasks


def flat_cap(counts: Counter[str], margin: float = FLAT_MARGIN) -> int:
    """The most tasks any one answer may keep so that its share is at most 1 / distinct answers + `margin`."""
    distinct = len(counts)
    cap = max(counts.values(), default=0)
    while cap > 1 and cap > (1 / distinct + margin) * sum(min(n, cap) for n in counts.values()) + 1e-9:
        cap -= 1
    return cap


def flatten_answers(tasks: list[TaskRecord], generators: tuple[str, ...] = FLAT_GENERATORS) -> list[TaskRecord]:
    """Per question template of `generators`, every answer cut to `flat_cap` tasks."""
    groups: dict[tuple[str, str], list[TaskRecord]] = defaultdict(list)
    for t in tasks:
        if t.generator in generators:
            groups[(t.generator, question_template(t.question))].append(t)
    for members in groups.values():
        by_answer: dict[str, list[TaskRecord]] = defaultdict(list)
        for t in members:
            by_answer[t.answer.strip()].append(t)
        cap = flat_cap(Counter({a: len(v) for a, v in by_answer.items()}))
        for same in by_answer.values():
            tasks = _drop_surplus(tasks, same, cap)
    return tasks
