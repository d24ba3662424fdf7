"""Absence questions: "is X in the video?" — answered "Yes" as often as "No", or "cannot be determined".

Models that only ever see answerable questions learn to answer everything; these teach calibrated abstention. And
a question that is always answered "No" teaches a shortcut instead, so subjects that *are* present are asked about
too. Each is multiple choice: object questions over *Yes* and *No*, speech questions over *Yes*, *No* and *Cannot be
determined from the video*.

- object: a label detected (score ≥ `min_object_score`) in another video of the collection but in no keyframe of
  this one at any score, nor in its on-screen text or captions → "Is a "dog" visible anywhere in the video?" → No;
  a label detected here (score ≥ `min_object_score`) → Yes.
- speech: a run of `phrase_words` words spoken in another video but nowhere in this video's transcript → "Is the
  phrase "…" spoken anywhere in the video?" → No; a run said here (quotable, said once) → Yes; when this video
  has no audio track, what is said cannot be known → *Cannot be determined from the video*.

Per video, Yes and No subjects alternate; over the collection `curation.balance` evens the Yes and No counts and
assigns the letters. The subject is always quoted in the question (`absence_subject` reads it back), so
refinement can state the checked absence — or where the subject is found — in the chain (`absence_statement`).
How many of a collection's tasks are absence questions is capped by `tasks.absence_share` (see
`curation.tasks.base.TasksStage`).
"""

from __future__ import annotations

from curation.tasks.base import TaskGenerator, TasksConfig, letter_options
from curation.tasks.leakage import absence_subject, transcript_words, words
from curation.tasks.speech import quotable_segments
from curation.tasks.visible import seen
from schemas import RejectRecord, TaskRecord, VideoView
from trainers.textview import fmt_time, shot_evidence, spread

YES, NO, UNKNOWN = "Yes", "No", "Cannot be determined from the video"
OBJECT_Q = 'Is a "{label}" visible anywhere in the video?'
SPEECH_Q = 'Is the phrase "{phrase}" spoken anywhere in the video?'


def absence_statement(task: TaskRecord, view: VideoView) -> str:
    """A checkable sentence stating what was looked for and whether it was found, citing where ("" otherwise)."""
    subject = absence_subject(task)
    if subject is None:
        return ""
    kind, what = subject
    whole = f"[{fmt_time(0.0)}–{fmt_time(view.duration)}s]"
    if _answer_text(task) == YES:
        return _presence_statement(kind, what, view)
    if kind == "object":
        return f"No keyframe of the video {whole} shows a {what}."
    if not view.video.has_audio:
        return f"The video has no audio track {whole}, so what is said there cannot be determined."
    return f'The transcript {whole} never says "{what}".'


def _answer_text(task: TaskRecord) -> str:
    letter = task.answer.strip().upper()[:1]
    for opt in task.options:
        if opt[:2] == f"{letter}.":
            return opt[2:].strip()
    return ""


def _presence_statement(kind: str, what: str, view: VideoView) -> str:
    """Where a present subject is: the first shot whose keyframes show the object, or the words saying it."""
    if kind == "object":
        for shot in sorted(view.shots, key=lambda s: s.start):
            if what in {x.lower() for x in seen(shot_evidence(view, shot), "object")}:
                return f"The keyframes of the video [{fmt_time(shot.start)}–{fmt_time(shot.end)}s] show a {what}."
        return ""
    for seg in sorted(view.segments, key=lambda s: (s.start, s.index)):
        if f" {what} " in f" {' '.join(words(seg.text))} ":
            return f'The transcript [{fmt_time(seg.start)}–{fmt_time(seg.end)}s] says "{what}".'
    return ""


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
        absent: list[tuple[str, str]] = []  # (question, answer text)
        present: list[tuple[str, str]] = []
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
            absent.append((OBJECT_Q.format(label=label), NO))
        for label in sorted(x.lower() for x in seen(view.evidence, "object", cfg.min_object_score)):
            present.append((OBJECT_Q.format(label=label), YES))
        spoken_here = " " + " ".join(transcript_words(view)) + " "
        for v in others:
            for phrase in _phrases(v, cfg.phrase_words, cfg)[:2]:
                if f" {phrase} " in spoken_here:
                    continue
                absent.append((SPEECH_Q.format(phrase=phrase), NO if view.video.has_audio else UNKNOWN))
        if view.video.has_audio:
            mine = _phrases(view, cfg.phrase_words, cfg)
            present += [
                (SPEECH_Q.format(phrase=p), YES)
                for p in mine
                if spoken_here.count(f" {p} ") == 1 and _presence_statement("speech", p, view)
            ]
        if not absent and not present:
            return [self.reject(view, "nothing_absent", "no subject to ask about, present or absent")]
        half = (cfg.max_per_video + 1) // 2
        picked = spread(absent, half) + spread(present, half)
        if len(picked) < cfg.max_per_video:  # one side is short: the other fills in
            rest = [c for c in absent + present if c not in picked]
            picked += spread(rest, cfg.max_per_video - len(picked))
        for question, answer in picked[: cfg.max_per_video]:
            # Keyframes are always there to look at, so "cannot be determined" is never right for an object: offered
            # anyway it is a dead option a blind reader strikes out, and "No" would beat chance.
            choices = (YES, NO, UNKNOWN) if question.startswith(SPEECH_Q[:14]) else (YES, NO)
            distractors = [x for x in choices if x != answer]
            options, letter = letter_options(answer, distractors, self.rng(view, question))
            out.append(self.task(view, "multiple choice", question, letter, [], options=options))
        return out
