"""Spatio-temporal grounding: where is the <object> at each keyframe of a shot → a JSON list of boxes.

Answer: `[{"time": 1.0, "x1": 0.1, "y1": 0.2, "x2": 0.5, "y2": 0.6}, ...]`, coordinates normalised to [0, 1],
one box per keyframe where the object is detected. Asked only for objects seen once per keyframe (with two cars in
a frame, "where is the car" has two answers).
"""

from __future__ import annotations

import json

from curation.tasks.base import TaskGenerator
from schemas import DetectedObject, FrameRecord, RejectRecord, TaskRecord, VideoView
from trainers.textview import fmt_time, shot_evidence, spread


def normalised(obj: DetectedObject, frame: FrameRecord | None) -> tuple[float, float, float, float]:
    """Box corners in [0, 1]; pixel boxes are divided by the keyframe's size when it is known."""
    coords = (obj.x1, obj.y1, obj.x2, obj.y2)
    if max(coords) > 1.0 and frame is not None and frame.width and frame.height:
        coords = (obj.x1 / frame.width, obj.y1 / frame.height, obj.x2 / frame.width, obj.y2 / frame.height)
    return tuple(round(min(1.0, max(0.0, c)), 3) for c in coords)  # type: ignore[return-value]


class Generator(TaskGenerator):
    """Box answers as JSON, one entry per keyframe time the object is seen."""

    name = "boxes"
    problem_types = ("box",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        frames = {f.frame_id: f for f in view.frames}
        min_score = self.config.min_object_score
        out: list[TaskRecord | RejectRecord] = []
        candidates: list[TaskRecord] = []
        for shot in sorted(view.shots, key=lambda s: s.start):
            evidence = sorted(shot_evidence(view, shot), key=lambda e: e.time)
            labels = sorted({o.label.lower() for e in evidence for o in e.objects if o.score >= min_score})
            for label in labels:
                per_frame = [
                    (e, [o for o in e.objects if o.label.lower() == label and o.score >= min_score]) for e in evidence
                ]
                if any(len(objs) > 1 for _, objs in per_frame):
                    out.append(self.reject(view, "several_instances", f"{label} in shot {shot.index}", shot.shot_id))
                    continue
                boxes = []
                for e, objs in per_frame:
                    if objs:
                        x1, y1, x2, y2 = normalised(objs[0], frames.get(e.frame_id))
                        if x2 > x1 and y2 > y1:
                            boxes.append({"time": round(e.time, 2), "x1": x1, "y1": y1, "x2": x2, "y2": y2})
                if not boxes:
                    out.append(self.reject(view, "empty_box", f"{label} in shot {shot.index}", shot.shot_id))
                    continue
                times = ", ".join(f"{fmt_time(e.time)}s" for e in evidence)
                question = (
                    f"Where is the {label} between {fmt_time(shot.start)}s and {fmt_time(shot.end)}s? "
                    f"For each of these times where it is visible ({times}), give its bounding box."
                )
                ids = [shot.shot_id, *(e.frame_id for e, objs in per_frame if objs)]
                candidates.append(self.task(view, "box", question, json.dumps(boxes), ids))
        if not candidates and not out:
            out.append(self.reject(view, "nothing_visible", "no detected objects to ground"))
        out.extend(spread(candidates, self.config.max_per_video))
        return out
