"""OCR: "what text is on screen between a and b?" → the text the shot's keyframes read.

Asked only when the shot shows one text (several different texts would make any one of them a right answer) of
at least `min_ocr_chars` letters or digits (shorter reads are mostly OCR noise).
"""

from __future__ import annotations

from curation.tasks.base import TaskGenerator
from curation.tasks.visible import confident_text, seen
from schemas import RejectRecord, TaskRecord, VideoView
from trainers.textview import fmt_time, shot_evidence, spread


class Generator(TaskGenerator):
    """OCR answers: the on-screen text, whitespace-normalised."""

    name = "ocr"
    problem_types = ("OCR",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        shots = sorted(view.shots, key=lambda s: s.start)
        out: list[TaskRecord | RejectRecord] = []
        candidates: list[TaskRecord] = []
        for shot in shots:
            evidence = shot_evidence(view, shot)
            texts = seen(evidence, "text")
            if not texts:
                continue
            if len(texts) > 1:
                out.append(self.reject(view, "several_texts", f"shot {shot.index}: {sorted(texts)}", shot.shot_id))
                continue
            (text,) = texts
            if sum(ch.isalnum() for ch in text) < self.config.min_ocr_chars:
                out.append(self.reject(view, "text_too_short", f"shot {shot.index}: {text!r}", shot.shot_id))
                continue
            frames = [e.frame_id for e in evidence if confident_text(e) == text]
            question = (
                f"What text appears on screen between {fmt_time(shot.start)}s and {fmt_time(shot.end)}s? "
                "Write it exactly as shown."
            )
            candidates.append(self.task(view, "OCR", question, text, [shot.shot_id, *frames]))
        if not candidates and not out:
            out.append(self.reject(view, "no_text", "no on-screen text was read"))
        out.extend(spread(candidates, self.config.max_per_video))
        return out
