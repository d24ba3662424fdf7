"""Temporal relation: which of two events comes first — an on-screen text and a spoken phrase ("Which comes
first: the text 'EXIT' or the phrase '…'?"), or two objects' first appearances ("Is the person visible before or
after the vase?").

A text's first keyframe only bounds when it appeared (somewhere after the keyframe before it), so the phrase comes
first only when it ends before that earlier keyframe, and the text first only when its keyframe is before the
phrase starts, each by `MIN_GAP_S`; otherwise the order is not known and the pair is dropped. Two objects are
compared by the first shot that shows each (`compose_steps.first_shot`: no weak earlier detection); the same shot
is a tie and is dropped.
"""

from __future__ import annotations

from curation.tasks import compose_steps as cs
from curation.tasks.base import TaskGenerator, letter_options
from curation.tasks.visible import confident_text
from schemas import EvidenceRecord, RejectRecord, ShotRecord, TaskRecord, TraceStep, VideoView
from trainers.citations import point_cite
from trainers.textview import spread


class Generator(TaskGenerator):
    """Multiple choice between two events, or "before" / "after"."""

    name = "compose_temporal"
    problem_types = ("multiple choice",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        out: list[TaskRecord | RejectRecord] = []
        text_pairs = self._text_vs_phrase(view, out)
        object_pairs = self._objects(view, out)
        n = self.config.max_per_video
        picked = spread(text_pairs, (n + 1) // 2) + spread(object_pairs, n // 2 or 1)
        for item in picked[:n]:
            out.append(item)
        if not picked:
            out.append(self.reject(view, "no_ordered_pair", "no two events whose order is known"))
        return out

    def _text_vs_phrase(self, view: VideoView, out: list[TaskRecord | RejectRecord]) -> list[TaskRecord]:
        phrases, _ = cs.once_said(view, self.config)
        texts = sorted({t for e in view.evidence if len(t := confident_text(e)) >= self.config.min_ocr_chars})
        tasks: list[TaskRecord] = []
        for text in texts:
            if '"' in text:
                continue
            first = cs.first_text(view, text)
            assert first is not None
            ev, before = first
            for ph in phrases:
                if ev.time + cs.MIN_GAP_S <= ph.start:
                    text_first = True
                elif before is not None and ph.end + cs.MIN_GAP_S <= before:
                    text_first = False
                else:
                    out.append(self.reject(view, "order_unknown", f'"{text}" vs "{ph.text}"', ev.frame_id))
                    continue
                task = self._text_task(view, text, ev, ph, text_first)
                if isinstance(task, RejectRecord):
                    out.append(task)
                else:
                    tasks.append(task)
        return tasks

    def _text_task(
        self, view: VideoView, text: str, ev: EvidenceRecord, ph: cs.Phrase, text_first: bool
    ) -> TaskRecord | RejectRecord:
        shown, said = f'the text "{text}"', f'the spoken phrase "{ph.text}"'
        rng = self.rng(view, f"{ev.frame_id}:{ph.segment_id}")
        answer, other = (shown, said) if text_first else (said, shown)
        options, letter = letter_options(answer, [other], rng)
        t_text, t_said = point_cite(ev.time), point_cite(ph.start if text_first else ph.end)
        compare = (
            f"{t_text} is before {t_said}, so the text comes first."
            if text_first
            else f"The phrase ends at {t_said}, before the text is first seen, so the phrase comes first."
        )
        steps = [
            cs.step(
                "first_text",
                [ev.frame_id],
                ev.time,
                ev.time,
                text,
                f'The text "{text}" is first seen in keyframe {cs.kf([ev])} at {point_cite(ev.time)}.',
            ),
            cs.find_phrase(ph),
            cs.step(
                "compare", [], min(ev.time, ph.start), max(ev.time, ph.end), "text" if text_first else "phrase", compare
            ),
        ]
        steps.append(cs.choose(answer, steps[-1]))
        why = cs.unsupported(steps, view)
        if why:
            return self.reject(view, "unverifiable_step", why, ev.frame_id)
        question = f'Which comes first in the video: the on-screen text "{text}" or the spoken phrase "{ph.text}"?'
        task = self.task(view, "multiple choice", question, letter, [ev.frame_id, ph.segment_id], options=options)
        task.trace = steps
        return task

    def _objects(self, view: VideoView, out: list[TaskRecord | RejectRecord]) -> list[TaskRecord]:
        min_score = self.config.min_object_score
        firsts: dict[str, tuple[ShotRecord, list[EvidenceRecord]]] = {}
        for label in sorted(cs.labels(view.evidence, min_score)):
            found = cs.first_shot(view, label, min_score)
            if found is None:
                out.append(self.reject(view, "weak_evidence", f"{label}: first seen below threshold"))
            else:
                firsts[label] = found
        tasks: list[TaskRecord] = []
        names = sorted(firsts)
        for i, x in enumerate(names):
            for y in names[i + 1 :]:
                sx, sy = firsts[x][0], firsts[y][0]
                if sx.shot_id == sy.shot_id:
                    out.append(self.reject(view, "tie", f"{x} and {y} first seen in the same shot", sx.shot_id))
                    continue
                rng = self.rng(view, f"{x}:{y}")
                a, b = (x, y) if rng.random() < 0.5 else (y, x)
                task = self._object_task(view, a, firsts[a], b, firsts[b])
                if isinstance(task, RejectRecord):
                    out.append(task)
                else:
                    tasks.append(task)
        return tasks

    def _object_task(
        self,
        view: VideoView,
        x: str,
        fx: tuple[ShotRecord, list[EvidenceRecord]],
        y: str,
        fy: tuple[ShotRecord, list[EvidenceRecord]],
    ) -> TaskRecord | RejectRecord:
        steps: list[TraceStep] = []
        for label, (shot, frames) in ((x, fx), (y, fy)):
            steps += cs.first_seen(view, shot, frames, label)
        kx, ky = cs.number(view, fx[0]), cs.number(view, fy[0])
        relation = "before" if kx < ky else "after"
        steps.append(
            cs.step(
                "compare",
                [],
                min(fx[0].start, fy[0].start),
                max(fx[0].end, fy[0].end),
                relation,
                f"Shot {kx} {cs.shot_span(fx[0], view)} comes {relation} shot {ky} {cs.shot_span(fy[0], view)}, "
                f"so the {x} is visible {relation} the {y}.",
            )
        )
        rng = self.rng(view, f"{x}:{y}:options")
        options, letter = letter_options(relation, ["after" if relation == "before" else "before"], rng)
        steps.append(cs.choose(relation, steps[-1]))
        why = cs.unsupported(steps, view)
        if why:
            return self.reject(view, "unverifiable_step", why, fx[0].shot_id)
        question = f"Is {cs.a(x)} first visible before or after {cs.a(y)}?"
        ids = [fx[0].shot_id, fy[0].shot_id, *(e.frame_id for e in fx[1] + fy[1])]
        task = self.task(view, "multiple choice", question, letter, ids, options=options)
        task.trace = steps
        return task
