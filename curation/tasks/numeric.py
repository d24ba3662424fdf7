"""Numeric questions about time: how long the video is, how long a shot lasts, when a shot begins.

Answers are decimal strings in seconds with at most two decimals ("4", "2.44") — the precision the text view
writes times in — and are scored with the numerical tolerance of `trainers.rewards`.
"""

from __future__ import annotations

from curation.tasks.base import TaskGenerator
from schemas import RejectRecord, TaskRecord, VideoView
from trainers.textview import fmt_time, spread

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def seconds(x: float) -> str:
    """Seconds as a short decimal string: 4.0 → "4", 2.444 → "2.44"."""
    return f"{x:.2f}".rstrip("0").rstrip(".") or "0"


class Generator(TaskGenerator):
    """Numerical answers in seconds."""

    name = "numeric"
    problem_types = ("numerical",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        if view.duration <= 0:
            return [self.reject(view, "no_duration", "the video has no known duration")]
        out: list[TaskRecord | RejectRecord] = []
        question = "How long is the video, in seconds?"
        candidates = [self.task(view, "numerical", question, seconds(view.duration), [view.video_id])]
        shots = sorted(view.shots, key=lambda s: s.start)
        if len(shots) < 2:
            out.append(self.reject(view, "one_shot", "shot timing questions need at least two shots"))
        else:
            for i, shot in enumerate(shots[: len(ORDINALS)]):
                if shot.end <= shot.start:
                    continue
                question = f"How long, in seconds, is the shot that begins at {fmt_time(shot.start)}s?"
                candidates.append(
                    self.task(view, "numerical", question, seconds(shot.end - shot.start), [shot.shot_id])
                )
                if i > 0:
                    question = f"At what time, in seconds, does the {ORDINALS[i]} shot of the video begin?"
                    candidates.append(self.task(view, "numerical", question, seconds(shot.start), [shot.shot_id]))
        out.extend(spread(candidates, self.config.max_per_video))
        return out
