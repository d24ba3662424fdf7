"""Speech → vision: "What can be seen while someone says '…'?" — the phrase's time, the shot holding it, that
shot's keyframes' objects.

The phrase is said exactly once (`compose_steps.once_said`) and lies inside one shot (a phrase across a cut has
no one shot). The answer is the object the shot's keyframes show most often at `min_object_score`; distractors are
objects other shots of the video show (then other videos), never anything the shot shows at any score.
"""

from __future__ import annotations

from curation.tasks import compose_steps as cs
from curation.tasks.base import TaskGenerator, letter_options
from curation.tasks.visible import seen
from schemas import RejectRecord, TaskRecord, VideoView
from trainers.citations import span_cite
from trainers.textview import shot_evidence, spread


class Generator(TaskGenerator):
    """Multiple choice: which object is on screen while a phrase is said."""

    name = "compose_speech_vision"
    problem_types = ("multiple choice",)
    basis = "speech"

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        cfg = self.config
        phrases, dropped = cs.once_said(view, cfg)
        out: list[TaskRecord | RejectRecord] = []
        if dropped:
            out.append(self.reject(view, "ambiguous_phrase", f"{dropped} phrase(s) said twice or heard unsure"))
        if not phrases:
            return [*out, self.reject(view, "no_speech", "no phrase said once")]
        candidates = []
        for ph in phrases:
            shot = cs.shot_holding(view, ph.start, ph.end)
            if shot is None:
                out.append(self.reject(view, "crosses_cut", f'"{ph.text}"', ph.segment_id))
                continue
            ev = shot_evidence(view, shot)
            found = seen(ev, "object", cfg.min_object_score)
            if not found:
                out.append(self.reject(view, "nothing_visible", f'shot of "{ph.text}"', shot.shot_id))
                continue
            answer = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            candidates.append((ph, shot, answer))
        for ph, shot, answer in spread(candidates, cfg.max_per_video):
            ev = shot_evidence(view, shot)
            here = cs.labels(ev, 0.0)
            rng = self.rng(view, ph.segment_id)
            pool = cs.object_pool([view], cfg.min_object_score, rng)
            pool += cs.object_pool(cs.others(view, collection), cfg.min_object_score, rng)
            distractors = list(dict.fromkeys(x for x in pool if x not in here))[: cfg.num_options - 1]
            if len(distractors) < cfg.num_options - 1:
                out.append(self.reject(view, "too_few_distractors", f'"{ph.text}": {len(distractors)}', ph.segment_id))
                continue
            options, letter = letter_options(answer, distractors, rng)
            frames = cs.frames_showing(ev, answer, cfg.min_object_score)
            k = cs.number(view, shot)
            steps = [
                cs.step(
                    "find_phrase",
                    [ph.segment_id],
                    ph.start,
                    ph.end,
                    ph.text,
                    f'The phrase "{ph.text}" is said at {span_cite(ph.start, ph.end)}.',
                ),
                cs.step(
                    "shot_at",
                    [shot.shot_id],
                    shot.start,
                    shot.end,
                    f"shot {k}",
                    f"That time falls in shot {k} {cs.shot_span(shot)}.",
                ),
                cs.step(
                    "shot_objects",
                    [e.frame_id for e in frames],
                    frames[0].time,
                    frames[-1].time,
                    answer,
                    f"Its keyframes {cs.kf(frames)} show {cs.a(answer)}.",
                ),
            ]
            steps.append(cs.choose(answer, steps[-1]))
            why = cs.unsupported(steps, view)
            if why:
                out.append(self.reject(view, "unverifiable_step", why, ph.segment_id))
                continue
            question = f'What can be seen in the video while someone says "{ph.text}"?'
            ids = [ph.segment_id, shot.shot_id, *(e.frame_id for e in frames)]
            task = self.task(view, "multiple choice", question, letter, ids, options=options)
            task.trace = steps
            out.append(task)
        return out
