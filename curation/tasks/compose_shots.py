"""Across shots: "In how many shots can a person be seen?" and "Which of these objects is on screen the longest?"
— one look per shot, then a count or a comparison over them.

A shot shows an object when one of its keyframes shows it at `min_object_score`; an object some shot shows only
below that is weak evidence and is not asked about, nor is a video with a shot that has no keyframe (nothing is
known of it). Time on screen is the total length of the shots that show the object; the longest must lead the next
option by `MIN_LEAD_S`, or the question is a tie and is dropped. Distractors for "longest" are objects of the same
video first, then objects of other videos that this one never shows (0 s on screen).
"""

from __future__ import annotations

from curation.tasks import compose_steps as cs
from curation.tasks.base import TaskGenerator, letter_options
from schemas import EvidenceRecord, RejectRecord, ShotRecord, TaskRecord, TraceStep, VideoView
from trainers.citations import span_cite
from trainers.textview import fmt_time, shot_evidence, spread

MAX_SHOTS = 8  # more shots than this make a chain of one sentence per shot too long to read
MIN_LEAD_S = 1.0


class Generator(TaskGenerator):
    """Numerical (shots showing an object) and multiple choice (the object on screen longest)."""

    name = "compose_shots"
    problem_types = ("numerical", "multiple choice")

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        shots = cs.shots_of(view)
        if len(shots) < 2:
            return [self.reject(view, "too_few_shots", f"{len(shots)} shot(s)")]
        if len(shots) > MAX_SHOTS:
            return [self.reject(view, "too_many_shots", f"{len(shots)} shots; at most {MAX_SHOTS}")]
        per_shot = [shot_evidence(view, s) for s in shots]
        if any(not ev for ev in per_shot):
            return [self.reject(view, "unseen_shot", "a shot has no keyframe evidence")]
        min_score = self.config.min_object_score
        out: list[TaskRecord | RejectRecord] = []
        showing: dict[str, list[int]] = {}
        for label in sorted(cs.labels(view.evidence, min_score)):
            strong = [i for i, ev in enumerate(per_shot) if label in cs.labels(ev, min_score)]
            weak = [i for i, ev in enumerate(per_shot) if label in cs.labels(ev, 0.0) and i not in strong]
            if weak:
                out.append(self.reject(view, "weak_evidence", f"{label}: below threshold in shot {weak[0] + 1}"))
            else:
                showing[label] = strong
        n = self.config.max_per_video
        for label in spread(sorted(showing), (n + 1) // 2):
            out.append(self._count(view, shots, per_shot, label, showing[label]))
        out += self._longest(view, collection, shots, per_shot, showing)[: max(1, n // 2)]
        return out

    def _seen_step(
        self, view: VideoView, shot: ShotRecord, ev: list[EvidenceRecord], label: str, yes: bool
    ) -> TraceStep:
        k = cs.number(view, shot)
        if not yes:
            return cs.lacks(view, shot, ev, label, "shot_lacks", f"Shot {k}")
        frames = cs.frames_showing(ev, label, self.config.min_object_score)
        return cs.step(
            "shot_shows",
            [shot.shot_id, *(e.frame_id for e in frames)],
            shot.start,
            shot.end,
            label,
            f"Shot {k} {cs.shot_span(shot, view)} shows {cs.a(label)} {cs.kf(frames)}.",
        )

    def _count(
        self,
        view: VideoView,
        shots: list[ShotRecord],
        per_shot: list[list[EvidenceRecord]],
        label: str,
        hits: list[int],
    ) -> TaskRecord | RejectRecord:
        steps = [
            self._seen_step(view, s, ev, label, i in hits)
            for i, (s, ev) in enumerate(zip(shots, per_shot, strict=True))
        ]
        n = len(hits)
        where = "shot" if n == 1 else "shots"
        steps.append(
            cs.step(
                "count",
                [],
                shots[0].start,
                shots[-1].end,
                str(n),
                f"So, over the video {span_cite(0.0, view.duration)}, {cs.a(label)} is seen in {n} {where} "
                f"out of {len(shots)}.",
            )
        )
        why = cs.unsupported(steps, view)
        if why:
            return self.reject(view, "unverifiable_step", why)
        question = f"In how many shots of the video can {cs.a(label)} be seen?"
        ids = [r for st in steps for r in st.rows]
        task = self.task(view, "numerical", question, str(n), list(dict.fromkeys(ids)))
        task.trace = steps
        return task

    def _longest(
        self,
        view: VideoView,
        collection: list[VideoView],
        shots: list[ShotRecord],
        per_shot: list[list[EvidenceRecord]],
        showing: dict[str, list[int]],
    ) -> list[TaskRecord | RejectRecord]:
        on_screen = {lab: sum(shots[i].end - shots[i].start for i in hits) for lab, hits in showing.items()}
        ranked = sorted(on_screen, key=lambda lab: (-on_screen[lab], lab))
        if not ranked:
            return []
        answer = ranked[0]
        rng = self.rng(view, "longest")
        need = self.config.num_options - 1
        mine = [lab for lab in ranked[1:] if on_screen[lab] + MIN_LEAD_S <= on_screen[answer]]
        close = [lab for lab in ranked[1:] if lab not in mine]
        if close:
            return [self.reject(view, "tie", f"{answer} and {close[0]} are on screen about as long")]
        anywhere = cs.labels(view.evidence, 0.0)
        never = cs.object_distractors(view, collection, anywhere, self.config.min_object_score, rng)
        distractors = (mine + never)[:need]
        if len(distractors) < need:
            return [self.reject(view, "too_few_distractors", f"longest {answer}: {len(distractors)}")]
        steps: list[TraceStep] = []
        for label in sorted([answer, *distractors], key=lambda lab: (-on_screen.get(lab, 0.0), lab)):
            hits = showing.get(label, [])
            if not hits:
                steps.append(
                    cs.step(
                        "never_shown",
                        [],
                        0.0,
                        view.duration,
                        label,
                        f"No keyframe of the video {span_cite(0.0, view.duration)} shows {cs.a(label)}.",
                    )
                )
                continue
            frames = [e for i in hits for e in cs.frames_showing(per_shot[i], label, self.config.min_object_score)]
            listed = cs.join([f"shot {cs.number(view, shots[i])} {cs.shot_span(shots[i], view)}" for i in hits])
            steps.append(
                cs.step(
                    "time_on_screen",
                    [*(shots[i].shot_id for i in hits), *(e.frame_id for e in frames)],
                    shots[hits[0]].start,
                    shots[hits[-1]].end,
                    label,
                    f"{cs.a(label).capitalize()} is seen in {listed} {cs.kf(frames)}, for "
                    f"{fmt_time(on_screen[label])} seconds in all.",
                )
            )
        steps.append(
            cs.step(
                "longest",
                [],
                0.0,
                view.duration,
                answer,
                f"So, over the video {span_cite(0.0, view.duration)}, the {answer} is on screen the longest.",
            )
        )
        options, letter = letter_options(answer, distractors, rng)
        steps.append(cs.choose(answer, steps[-1]))
        why = cs.unsupported(steps, view)
        if why:
            return [self.reject(view, "unverifiable_step", why)]
        question = "Which of these objects is on screen the longest in the video?"
        ids = [r for st in steps for r in st.rows]
        task = self.task(view, "multiple choice", question, letter, list(dict.fromkeys(ids)), options=options)
        task.trace = steps
        return [task]
