"""Vision → speech: "What is said during the shot in which the cup first appears?" — the first shot whose
keyframes show the object, then the phrase said inside that shot.

The object must be shown confidently in that shot and in no keyframe before it at any score (a weak earlier
detection could be where it really first appears). The shot must hold exactly one phrase said once
(`compose_steps.once_said`); distractors are phrases said in other shots of the video, then in other videos.
"""

from __future__ import annotations

from curation.tasks import compose_steps as cs
from curation.tasks.base import TaskGenerator, letter_options
from schemas import RejectRecord, TaskRecord, VideoView
from trainers.citations import span_cite
from trainers.textview import spread


class Generator(TaskGenerator):
    """Multiple choice: which phrase is said in the shot where an object is first seen."""

    name = "compose_vision_speech"
    problem_types = ("multiple choice",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        cfg = self.config
        phrases, _ = cs.once_said(view, cfg)
        if not phrases:
            return [self.reject(view, "no_speech", "no phrase said once")]
        out: list[TaskRecord | RejectRecord] = []
        candidates = []
        for label in sorted(cs.labels(view.evidence, cfg.min_object_score)):
            first = cs.first_shot(view, label, cfg.min_object_score)
            if first is None:
                out.append(self.reject(view, "weak_evidence", f"{label}: first seen below threshold"))
                continue
            shot, frames = first
            inside = [p for p in phrases if shot.start <= p.start and p.end <= shot.end]
            if len(inside) != 1:
                out.append(self.reject(view, "no_single_phrase", f"{label}: {len(inside)} phrases in its shot"))
                continue
            candidates.append((label, shot, frames, inside[0]))
        for label, shot, frames, ph in spread(candidates, cfg.max_per_video):
            rng = self.rng(view, f"{label}:{ph.segment_id}")
            elsewhere = [p.text for p in phrases if p is not ph and not (shot.start <= p.end and p.start <= shot.end)]
            rng.shuffle(elsewhere)
            for other in cs.others(view, collection):
                more = [p.text for p in cs.once_said(other, cfg)[0]]
                rng.shuffle(more)
                elsewhere += more
            distractors = [t for t in dict.fromkeys(elsewhere) if t != ph.text][: cfg.num_options - 1]
            if len(distractors) < cfg.num_options - 1:
                out.append(self.reject(view, "too_few_distractors", f"{label}: {len(distractors)}", shot.shot_id))
                continue
            options, letter = letter_options(ph.text, distractors, rng)
            steps = cs.first_seen(view, shot, frames, label)
            steps += [
                cs.step(
                    "phrase_in_shot",
                    [ph.segment_id],
                    ph.start,
                    ph.end,
                    ph.text,
                    f'During that shot someone says "{ph.text}" at {span_cite(ph.start, ph.end)}.',
                ),
            ]
            steps.append(cs.choose(f'said: "{ph.text}"', steps[-1]))
            why = cs.unsupported(steps, view)
            if why:
                out.append(self.reject(view, "unverifiable_step", why, shot.shot_id))
                continue
            question = f"What is said during the shot in which {cs.a(label)} first appears?"
            ids = [shot.shot_id, ph.segment_id, *(e.frame_id for e in frames)]
            task = self.task(view, "multiple choice", question, letter, ids, options=options)
            task.trace = steps
            out.append(task)
        return out
