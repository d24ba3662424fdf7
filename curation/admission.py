"""Which tasks may become pool rows: the task-level rules of the pools stage.

The pools stage applies them; the difficulty stage reads them first, so that it spends no policy samples on a task
that no RL row will carry (on the demo a third of the tasks are prompt-answerable, and their pass@K was computed and
thrown away). Both read the same `pools` settings, so the two cannot disagree.
"""

from __future__ import annotations

from curation.stage import Rejected
from schemas import TaskRecord


def row_rule(task: TaskRecord, keep_prompt_answerable: bool) -> Rejected | None:
    """Why `task` makes no row of any pool, or None: its prompt prints its answer (duration, shot count, shot
    times; curation/tasks/answerable.py) and such tasks are not kept."""
    if task.prompt_answerable and not keep_prompt_answerable:
        return Rejected("prompt_answerable", "the prompt's duration or shot list prints the answer")
    return None


def rl_rule(task: TaskRecord, keep_prompt_answerable: bool, skip_leaky: bool) -> Rejected | None:
    """Why `task` makes no RL row whatever its difficulty, or None: `row_rule`, or an answer the transcript gives
    away when leaky tasks are skipped."""
    if skip_leaky and task.subtitle_leak:
        return Rejected("subtitle_leak", "answerable from the transcript")
    return row_rule(task, keep_prompt_answerable)
