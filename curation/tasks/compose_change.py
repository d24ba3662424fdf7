"""Change: "What changes between the shot at 12.00s and the next one?" — the shot at that time, what its
keyframes show, what the next shot's keyframes show, and the difference.

A change is an object the next shot shows confidently that the shot shows at no score ("a dog appears"), or one
the shot shows confidently that the next shows at no score ("the car leaves"). The options hold one true change;
each distractor is a statement the evidence makes false (an object in both shots, or in neither, said to appear
or leave), so exactly one option is right. Shots without keyframes, or with nothing that changes, are skipped.
"""

from __future__ import annotations

from curation.tasks import compose_steps as cs
from curation.tasks.base import TaskGenerator, letter_options
from schemas import EvidenceRecord, RejectRecord, ShotRecord, TaskRecord, VideoView
from trainers.citations import point_cite, span_cite
from trainers.textview import fmt_time, shot_evidence, spread

NOTHING = "nothing changes"


class Generator(TaskGenerator):
    """Multiple choice: which statement of an object appearing or leaving is true across a cut."""

    name = "compose_change"
    problem_types = ("multiple choice",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        shots = cs.shots_of(view)
        if len(shots) < 2:
            return [self.reject(view, "too_few_shots", f"{len(shots)} shot(s)")]
        min_score = self.config.min_object_score
        out: list[TaskRecord | RejectRecord] = []
        candidates = []
        for first, second in zip(shots, shots[1:], strict=False):
            ev1, ev2 = shot_evidence(view, first), shot_evidence(view, second)
            if not ev1 or not ev2:
                out.append(
                    self.reject(view, "unseen_shot", f"shot {cs.number(view, first)} or the next", first.shot_id)
                )
                continue
            a1, a2 = cs.labels(ev1, min_score), cs.labels(ev2, min_score)
            any1, any2 = cs.labels(ev1, 0.0), cs.labels(ev2, 0.0)
            changes = [(x, "appears") for x in sorted(a2 - any1)] + [(x, "leaves") for x in sorted(a1 - any2)]
            if not changes:
                out.append(self.reject(view, "no_change", f"shot {cs.number(view, first)} and the next", first.shot_id))
                continue
            candidates.append((first, second, ev1, ev2, changes))
        for first, second, ev1, ev2, changes in spread(candidates, self.config.max_per_video):
            item = self._task(view, collection, first, second, ev1, ev2, changes)
            out.append(item)
        return out

    def _task(
        self,
        view: VideoView,
        collection: list[VideoView],
        first: ShotRecord,
        second: ShotRecord,
        ev1: list[EvidenceRecord],
        ev2: list[EvidenceRecord],
        changes: list[tuple[str, str]],
    ) -> TaskRecord | RejectRecord:
        min_score = self.config.min_object_score
        rng = self.rng(view, first.shot_id)
        label, verb = changes[rng.randrange(len(changes))]
        a1, a2 = cs.labels(ev1, min_score), cs.labels(ev2, min_score)
        any1, any2 = cs.labels(ev1, 0.0), cs.labels(ev2, 0.0)
        false: list[str] = []
        for x in sorted(a1 & a2):  # in both shots: it neither appears nor leaves
            false.append(f"{cs.a(x)} appears" if rng.random() < 0.5 else f"the {x} leaves")
        for x in cs.object_distractors(view, collection, any1 | any2, min_score, rng):  # in neither shot
            false.append(f"{cs.a(x)} appears")
        false = [NOTHING, *false[:2]] + false[2:]  # "nothing changes" is false: something does
        need = self.config.num_options - 1
        if len(false) < need:
            return self.reject(view, "too_few_distractors", f"{len(false)} false statement(s)", first.shot_id)
        answer = f"{cs.a(label)} appears" if verb == "appears" else f"the {label} leaves"
        options, letter = letter_options(answer, false[:need], rng)
        k = cs.number(view, first)
        mid = round((first.start + first.end) / 2, 2)
        has1 = cs.frames_showing(ev1, label, min_score)
        has2 = cs.frames_showing(ev2, label, min_score)
        steps = [
            cs.step(
                "shot_at",
                [first.shot_id],
                first.start,
                first.end,
                f"shot {k}",
                f"The shot at {point_cite(mid)} is shot {k} {cs.shot_span(first, view)}.",
            )
        ]
        if verb == "appears":
            steps += [
                cs.lacks(view, first, ev1, label, "shot_lacks", f"Shot {k}"),
                cs.step(
                    "next_shows",
                    [second.shot_id, *(e.frame_id for e in has2)],
                    second.start,
                    second.end,
                    label,
                    f"The next one, shot {k + 1} {cs.shot_span(second, view)}, shows {cs.a(label)} {cs.kf(has2)}.",
                ),
            ]
        else:
            steps += [
                cs.step(
                    "shot_shows",
                    [e.frame_id for e in has1],
                    first.start,
                    first.end,
                    label,
                    f"Its keyframes {cs.at_keyframes(has1)} {cs.kf(has1)} show {cs.a(label)}.",
                ),
                cs.step(
                    "next_shot",
                    [second.shot_id],
                    second.start,
                    second.end,
                    f"shot {k + 1}",
                    f"The next one is shot {k + 1} {cs.shot_span(second, view)}.",
                ),
                cs.lacks(view, second, ev2, label, "next_lacks", f"Shot {k + 1}"),
            ]
        steps.append(
            cs.step(
                "change",
                [],
                first.start,
                second.end,
                answer,
                f"So between {span_cite(first.start, second.end)}, {answer}.",
            )
        )
        steps.append(cs.choose(answer, steps[-1]))
        why = cs.unsupported(steps, view)
        if why:
            return self.reject(view, "unverifiable_step", why, first.shot_id)
        question = f"What changes between the shot at {fmt_time(mid)}s and the next one?"
        ids = list(dict.fromkeys(r for st in steps for r in st.rows))
        task = self.task(view, "multiple choice", question, letter, ids, options=options)
        task.trace = steps
        return task
