"""Subtitle leakage: tasks whose answer can be read off the transcript without looking at the video.

A task is flagged (`TaskRecord.subtitle_leak = True`) when
- it grounds a spoken phrase (its question quotes words of the transcript, by construction), or its question
  quotes a phrase that is spoken;
- it asks whether a phrase is spoken (absence questions) and the video has a transcript to read that off;
- its answer text is spoken: the correct option's text for multiple choice, the answer itself for OCR and
  free-form, the number (digits, or its English word up to twenty) for numerical answers.
Words are compared lower-cased without punctuation, as whole-word sequences ("red" does not match "tired").
Flagging is conservative: a spoken answer is a hint even when the distractors are spoken too. Evaluation reports
with and without subtitles so the flagged share can be read both ways.
"""

from __future__ import annotations

import re

from schemas import TaskRecord, VideoView
from trainers.vocab import NUMBER_WORDS

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # any script: German, French, ... words stay whole
_QUOTED = re.compile(r"[\"“]([^\"”]+)[\"”]")
_OPTION = re.compile(r"^\s*([A-Z])[.)]\s*(.*)$", re.DOTALL)
SPOKEN_GENERATORS = frozenset({"grounding"})


def words(text: str) -> list[str]:
    """Lower-cased word tokens without punctuation."""
    return _WORD.findall(text.lower())


def transcript_words(view: VideoView) -> list[str]:
    """The transcript of a video as word tokens (from segments; words are the same text, finer grained)."""
    return words(" ".join(s.text for s in sorted(view.segments, key=lambda s: s.start)))


def contains(haystack: list[str], needle: list[str]) -> bool:
    """Whether `needle` occurs in `haystack` as a contiguous word sequence."""
    n = len(needle)
    if n == 0 or n > len(haystack):
        return False
    first = needle[0]
    return any(haystack[i] == first and haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def answer_text(task: TaskRecord) -> str:
    """The text a viewer would say as the answer (the option text for multiple choice)."""
    if task.problem_type == "multiple choice":
        for opt in task.options:
            m = _OPTION.match(opt)
            if m and m.group(1) == task.answer.strip().upper():
                return m.group(2)
        return ""
    return task.answer


def _number_forms(answer: str) -> list[list[str]]:
    try:
        value = float(answer)
    except ValueError:
        return []
    forms = [words(answer)]
    if value.is_integer():
        forms.append([str(int(value))])
        if 0 <= value < len(NUMBER_WORDS):
            forms.append([NUMBER_WORDS[int(value)]])
    return forms


_SUBJECT = re.compile(r"\"([^\"]+)\"")

def absence_subject(task: TaskRecord) -> tuple[str, str] | None:
    """("object" | "speech", the quoted subject) of an absence task, or None for other tasks."""
    if task.generator != "absence":
        return None
    m = _SUBJECT.search(task.question)
    if m is None:
        return None
    return ("speech" if "spoken" in task.question else "object"), m.group(1)


def is_subtitle_leak(task: TaskRecord, view: VideoView) -> bool:
    """True when the task can be answered from the transcript alone (see the module docstring)."""
    if task.generator in SPOKEN_GENERATORS:
        return True
    if task.generator == "absence":
        # Whether a phrase is said is read off the transcript; whether an object is seen is not.
        subject = absence_subject(task)
        return subject is not None and subject[0] == "speech" and bool(view.segments)
    spoken = transcript_words(view)
    if not spoken:
        return False
    if any(contains(spoken, words(q)) for q in _QUOTED.findall(task.question)) and task.problem_type == "span":
        return True
    if task.problem_type in ("numerical", "regression"):
        return any(contains(spoken, f) for f in _number_forms(task.answer))
    if task.problem_type in ("multiple choice", "OCR", "free-form"):
        return contains(spoken, words(answer_text(task)))
    return False
