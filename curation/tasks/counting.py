"""Counting: how many of an object are in a shot, and how many shots the video has (numerical answers).

An object count is asked only when every keyframe of the shot agrees on it (detectors miss and double-count; a
count that changes inside the shot has no single right answer) and it lies in 1..`max_count`.
"""

from __future__ import annotations

from collections import Counter

from curation.tasks.base import TaskGenerator
from schemas import EvidenceRecord, RejectRecord, TaskRecord, VideoView
from trainers.textview import fmt_time, shot_evidence, spread

PLURALS = {"person": "people", "bus": "buses", "mouse": "mice", "sheep": "sheep", "knife": "knives"}


def plural(label: str) -> str:
    """The English plural of a detector label (COCO labels are simple nouns)."""
    return PLURALS.get(label, label if label.endswith("s") else label + "s")


def frame_counts(ev: EvidenceRecord, min_score: float) -> Counter[str]:
    """Objects per label in one keyframe; the evidence's people count stands in when no person box was kept."""
    counts = Counter(o.label.lower() for o in ev.objects if o.score >= min_score)
    if ev.people and "person" not in counts:
        counts["person"] = ev.people
    return counts


class Generator(TaskGenerator):
    """Numerical answers: a count as a decimal string ("2")."""

    name = "counting"
    problem_types = ("numerical",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        shots = sorted(view.shots, key=lambda s: s.start)
        if not shots:
            return [self.reject(view, "no_shots", "no shots to count in")]
        cfg = self.config
        out: list[TaskRecord | RejectRecord] = []
        candidates: list[TaskRecord] = []
        for shot in shots:
            evidence = shot_evidence(view, shot)
            per_frame = [frame_counts(e, cfg.min_object_score) for e in evidence]
            for label in sorted({lab for c in per_frame for lab in c}):
                values = {c.get(label, 0) for c in per_frame}
                if len(values) > 1:
                    out.append(
                        self.reject(
                            view,
                            "inconsistent_count",
                            f"{label} in shot {shot.index}: keyframes see {sorted(values)}",
                            shot.shot_id,
                        )
                    )
                    continue
                (n,) = values
                if not 1 <= n <= cfg.max_count:
                    out.append(self.reject(view, "count_out_of_range", f"{n} {label}", shot.shot_id))
                    continue
                question = (
                    f"How many {plural(label)} can be seen in the video between "
                    f"{fmt_time(shot.start)}s and {fmt_time(shot.end)}s?"
                )
                frames = [e.frame_id for e in evidence]
                candidates.append(self.task(view, "numerical", question, str(n), [shot.shot_id, *frames]))
        question = "How many shots does the video have? A shot is a continuous take between two cuts or fades."
        candidates.append(self.task(view, "numerical", question, str(len(shots)), [s.shot_id for s in shots]))
        out.extend(spread(candidates, cfg.max_per_video))
        return out
