"""Absence questions: tasks whose right answer is "no" or "cannot be determined from the video".

Models that only ever see answerable questions learn to answer everything; these teach calibrated abstention.
Each is multiple choice over the same three options (shuffled per task): *Yes*, *No*, *Cannot be determined from
the video*.

- object: a label detected (score ≥ `min_object_score`) in another video of the collection but in no keyframe of
  this one at any score, nor in its on-screen text or captions → "Is a "dog" visible anywhere in the video?" → No.
- speech: a run of `phrase_words` words spoken in another video but nowhere in this video's transcript → "Is the
  phrase "…" spoken anywhere in the video?" → No; when this video has no audio track, what is said cannot be
  known → *Cannot be determined from the video*.

The subject is always quoted in the question (`absence_subject` reads it back), so refinement can state the
checked absence in the chain (`absence_statement`). How many of a collection's tasks are absence questions is
capped by `tasks.absence_share` (see `curation.tasks.base.TasksStage`).
"""

from __future__ import annotations

from curation.tasks.base import TaskGenerator, TasksConfig, letter_options
from curation.tasks.leakage import absence_subject, transcript_words, words
from curation.tasks.speech import quotable_segments
from curation.tasks.visible import seen
from schemas import RejectRecord, TaskRecord, VideoView
from trainers.textview import fmt_time, spread

YES, NO, UNKNOWN = "Yes", "No", "Cannot be determined from the video"
OBJECT_Q = 'Is a "{label}" visible anywhere in the video?'
SPEECH_Q = 'Is the phrase "{phrase}" spoken anywhere in the video?'


def absence_statement(task: TaskRecord, view: VideoView) -> str:
    """A checkable sentence stating what was looked for and not found, citing the whole video ("" otherwise)."""
    subject = absence_subject(task)
    if subject is None:
        return ""
    kind, what = subject
    whole = f"[{fmt_time(0.0)}–{fmt_time(view.duration)}s]"
    if kind == "object":
        return f"No keyframe of the video {whole} shows a {what}."
    if not view.video.has_audio:
        return f"The video has no audio track {whole}, so what is said there cannot be determined."
    return f'The transcript {whole} never says "{what}".'


def _phrases(view: VideoView, n: int, config: TasksConfig) -> list[str]:
    """Non-overlapping runs of n words of the speech in configured, known languages, in time order."""
    toks = words(" ".join(s.text for s in quotable_segments(view, config, "asr")))
    return [" ".join(toks[i : i + n]) for i in range(0, len(toks) - n + 1, n)]


class Generator(TaskGenerator):
    """Multiple-choice Yes / No / Cannot-be-determined tasks whose truth is an absence in the evidence."""

    name = "absence"
    problem_types = ("multiple choice",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        cfg = self.config
        others = sorted((v for v in collection if v.video_id != view.video_id), key=lambda v: v.video_id)
        if not others:
            return [self.reject(view, "no_other_videos", "absence questions borrow subjects from other videos")]
        out: list[TaskRecord | RejectRecord] = []
        candidates: list[tuple[str, str, str]] = []  # (question, answer text, evidence id)
        here = {x.lower() for x in seen(view.evidence, "object")}  # any score: a weak detection is not an absence
        if any(e.people for e in view.evidence):  # the claim checker counts the people detector as "person" too
            here.add("person")
        text_here = " ".join(
            words(" ".join([e.ocr_text for e in view.evidence] + [e.caption or "" for e in view.evidence]))
        )
        labels = sorted({x for v in others for x in seen(v.evidence, "object", cfg.min_object_score)} - here)
        for label in labels:
            if f" {' '.join(words(label))} " in f" {text_here} ":
                continue
            candidates.append((OBJECT_Q.format(label=label), NO, ""))
        spoken_here = " " + " ".join(transcript_words(view)) + " "
        for v in others:
            for phrase in _phrases(v, cfg.phrase_words, cfg)[:2]:
                if f" {phrase} " in spoken_here:
                    continue
                answer = NO if view.video.has_audio else UNKNOWN
                candidates.append((SPEECH_Q.format(phrase=phrase), answer, ""))
        if not candidates:
            return [self.reject(view, "nothing_absent", "every subject of the other videos is in this one")]
        for question, answer, _ in spread(candidates, cfg.max_per_video):
            distractors = [x for x in (YES, NO, UNKNOWN) if x != answer]
            options, letter = letter_options(answer, distractors, self.rng(view, question))
            out.append(self.task(view, "multiple choice", question, letter, [], options=options))
        return out
