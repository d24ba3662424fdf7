"""Speech → vision: "What can be seen while someone says '…'?" — the phrase's time, the shot holding it, that
shot's keyframes' objects.

The phrase is said exactly once (`compose_steps.once_said`) and lies inside one shot (a phrase across a cut has
no one shot). The answer is the object the shot's keyframes show most often at `min_object_score`; distractors are
objects other shots of the video show (then other videos, then everyday objects this video never shows), never
anything the shot shows at any score. A shot with no object asks for the colour that fills it instead — when every
keyframe names that one colour alone (distractors: colours no keyframe of the shot shows).
"""

from __future__ import annotations

import random

from curation.tasks import compose_steps as cs
from curation.tasks.base import TaskGenerator, letter_options
from curation.tasks.visible import seen
from schemas import RejectRecord, TaskRecord, VideoView
from trainers.textview import shot_evidence, spread
from trainers.vocab import COLOURS

QUESTIONS = {
    "object": 'What can be seen in the video while someone says "{phrase}"?',
    "colour": 'Which colour fills the screen while someone says "{phrase}"?',
}


def colour_distractors(
    view: VideoView, collection: list[VideoView], exclude: set[str], rng: random.Random
) -> list[str]:
    """Colour names for wrong options: seen elsewhere in this video, then in other videos, then any basic colour;
    never one the shot shows in any keyframe."""
    out: list[str] = []
    for pool in ([view], cs.others(view, collection)):
        found = sorted(set(seen([e for v in pool for e in v.evidence], "colour")) - exclude)
        rng.shuffle(found)
        out += found
    rest = [c for c in COLOURS if c not in exclude]
    rng.shuffle(rest)
    return [c for c in dict.fromkeys(out + rest) if c not in exclude and c != "grey"]


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
            out.append(self.reject(view, "unquotable_phrase", f"{dropped} phrase(s) said twice or heard unsure"))
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
            # "Fills the screen" only when every keyframe names that one colour alone (not a test card of bars).
            steady = [c for c in seen(ev[:1], "colour") if all(seen([e], "colour") == {c: 1} for e in ev)]
            if found:
                candidates.append((ph, shot, "object", sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]))
            elif steady:
                candidates.append((ph, shot, "colour", steady[0]))
            else:
                out.append(self.reject(view, "nothing_visible", f'shot of "{ph.text}"', shot.shot_id))
        for ph, shot, kind, answer in spread(candidates, cfg.max_per_video):
            ev = shot_evidence(view, shot)
            rng = self.rng(view, ph.segment_id)
            if kind == "object":
                pool = cs.object_distractors(view, collection, cs.labels(ev, 0.0), cfg.min_object_score, rng)
            else:
                pool = colour_distractors(view, collection, set(seen(ev, "colour")), rng)
            distractors = pool[: cfg.num_options - 1]
            if len(distractors) < cfg.num_options - 1:
                out.append(self.reject(view, "too_few_distractors", f'"{ph.text}": {len(distractors)}', ph.segment_id))
                continue
            options, letter = letter_options(answer, distractors, rng)
            frames = cs.frames_showing(ev, answer, cfg.min_object_score) if kind == "object" else ev
            thing = cs.a(answer) if kind == "object" else f"the colour {answer}"
            k = cs.number(view, shot)
            steps = [
                cs.find_phrase(ph),
                cs.step(
                    "shot_at",
                    [shot.shot_id],
                    shot.start,
                    shot.end,
                    f"shot {k}",
                    f"That time falls in shot {k} {cs.shot_span(shot, view)}.",
                ),
                cs.step(
                    "shot_objects",
                    [e.frame_id for e in frames],
                    frames[0].time,
                    frames[-1].time,
                    answer,
                    f"Its keyframes {cs.at_keyframes(frames)} {cs.kf(frames)} show {thing}.",
                ),
            ]
            steps.append(cs.choose(thing if kind == "colour" else answer, steps[-1]))
            why = cs.unsupported(steps, view)
            if why:
                out.append(self.reject(view, "unverifiable_step", why, ph.segment_id))
                continue
            question = QUESTIONS[kind].format(phrase=ph.text)
            ids = [ph.segment_id, shot.shot_id, *(e.frame_id for e in frames)]
            task = self.task(view, "multiple choice", question, letter, ids, options=options)
            task.trace = steps
            out.append(task)
        return out
