"""Prompt-answerable tasks: questions the prompt's own layout answers, with no need to look at the video.

The prompt of every pool row is the text view (`trainers.textview.text_view`). What its shot lines say a shot
shows (objects, on-screen text, colours) stands in for seeing the frames; but its *layout* — the header's
duration (`Video: 12.00s long`, `3 of 5 shots shown`) and each shot line's start and end time — is printed
metadata. A question whose answer is one of those printed values teaches reading a header, not watching:

- the video's length ("How long is the video, in seconds?") when the header prints that duration;
- the number of shots ("How many shots does the video have?") when the prompt lists them or prints their count;
- when a shot begins or ends, or how long it lasts ("At what time does the second shot begin?", "How long is the
  shot that begins at 4.00s?"), when the shot list prints those times.

The question decides what is asked (`ASKS`), the printed view decides whether the answer is shown: a task is
flagged (`TaskRecord.prompt_answerable = True`) only when the value the prompt prints equals its answer. A
question about what a shot shows — a colour, an object, a text — is never flagged here (subtitle leakage,
`curation.tasks.leakage`, covers answers read off the transcript). `curation.pools` keeps flagged tasks out of
the pools unless `pools.keep_prompt_answerable` is on.
"""

from __future__ import annotations

import re

from schemas import TaskRecord, VideoView
from trainers.citations import TextViewIndex, parse_text_view
from trainers.rewards import parse_number
from trainers.textview import text_view

# What a question asks for, by its wording (generated and user questions alike).
ASKS: dict[str, re.Pattern[str]] = {
    "duration": re.compile(
        r"\bhow long is the (?:whole |entire )?video\b|\b(?:duration|length) of the video\b|"
        r"\bvideo'?s (?:duration|length)\b|\bhow many seconds (?:long is|does) the video\b",
        re.IGNORECASE,
    ),
    "shot_count": re.compile(r"\bhow many (?:shots|scenes|cuts)\b|\bnumber of shots\b", re.IGNORECASE),
    "shot_time": re.compile(
        r"\bshot\b.*\b(?:begins?|starts?|ends?|lasts?)\b|\bhow long\b.*\bshot\b|\b(?:begin|start|end)s? of the\b.*"
        r"\bshot\b",
        re.IGNORECASE,
    ),
}
_HEADER_SHOTS = re.compile(r"^Video: .*\b(\d+) of (\d+) shots shown", re.MULTILINE)
TOLERANCE = 0.011  # the view prints two decimals; a length is the difference of two rounded times


def asks(task: TaskRecord) -> str | None:
    """What a numerical question asks for ("duration", "shot_count", "shot_time"), or None."""
    if task.problem_type not in ("numerical", "regression", "free-form"):
        return None
    for kind, pattern in ASKS.items():
        if pattern.search(task.question):
            return kind
    return None


def printed_values(kind: str, index: TextViewIndex, view_text: str) -> list[float]:
    """The values of `kind` the text view prints."""
    if kind == "duration":
        return [index.duration]
    if kind == "shot_count":
        m = _HEADER_SHOTS.search(view_text)
        return [float(m.group(2))] if m else [float(len(index.shots))]
    return [t for _, a, b, _ in index.shots for t in (a, b, round(b - a, 2))]


def is_prompt_answerable(task: TaskRecord, view: VideoView, view_text: str | None = None) -> bool:
    """True when the prompt (`view_text`, the full text view by default) prints the task's answer as layout."""
    kind = asks(task)
    if kind is None:
        return False
    answer = parse_number(task.answer)
    if answer is None:
        return False
    text = view_text if view_text is not None else text_view(view, subtitles=False)
    index = parse_text_view(text)
    return any(abs(answer - v) <= TOLERANCE for v in printed_values(kind, index, text))


def prompt_answerable_share(tasks: list[TaskRecord]) -> float:
    """Share of tasks flagged prompt-answerable (0 for no tasks), for run summaries and cards."""
    return sum(t.prompt_answerable for t in tasks) / len(tasks) if tasks else 0.0
