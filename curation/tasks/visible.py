"""Multiple choice on what is visible in a shot: an object, an on-screen text, or a colour.

The answer is something the shot's keyframes show; distractors are the same kind of thing seen in *other* shots of
the video first (hardest: same look and place), then in other videos — and never anything seen anywhere in this
shot, so exactly one option is right. Too few such distractors: the prompt is dropped, not padded with invented
ones.
"""

from __future__ import annotations

from collections import Counter

from curation.tasks.base import TaskGenerator, letter_options
from schemas import EvidenceRecord, RejectRecord, ShotRecord, TaskRecord, VideoView
from trainers.textview import fmt_time, shot_evidence, spread

KINDS = ("object", "text", "colour")
QUESTIONS = {
    "object": "Which of these objects can be seen in the video between {a}s and {b}s?",
    "text": "Which of these texts appears on screen between {a}s and {b}s?",
    "colour": "Which of these colours is prominent in the video between {a}s and {b}s?",
}


# Tesseract's word confidence (0-1) every word of an on-screen text needs before a question is asked about it.
MIN_TEXT_CONFIDENCE = 0.6


def confident_text(ev: EvidenceRecord) -> str:
    """The keyframe's on-screen text, whitespace-normalised, if every word of it is read confidently (else "").

    Rows without per-word confidences (backends that give none) are taken as they are.
    """
    if ev.ocr_words and min(w.score for w in ev.ocr_words) < MIN_TEXT_CONFIDENCE:
        return ""
    return " ".join(ev.ocr_text.split())


def seen(evidence: list[EvidenceRecord], kind: str, min_score: float = 0.0) -> Counter[str]:
    """What the keyframes show of one kind, with how many keyframes show it."""
    found: Counter[str] = Counter()
    for ev in evidence:
        if kind == "object":
            # Once per keyframe, best first: a Counter breaks ties by insertion order, and a set's order changed
            # with every process (str hashes are salted), so re-runs asked about a different colour or object.
            ranked = sorted((o for o in ev.objects if o.score >= min_score), key=lambda o: (-o.score, o.label))
            found.update(list(dict.fromkeys(o.label.lower() for o in ranked)))
        elif kind == "text":
            text = confident_text(ev)
            if text:
                found[text] += 1
        else:
            found.update(list(dict.fromkeys(c.lower() for c in ev.colours)))  # most prominent first
    return found


class Generator(TaskGenerator):
    """Multiple-choice tasks whose answer is a letter naming what the shot shows."""

    name = "visible"
    problem_types = ("multiple choice",)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        shots = sorted(view.shots, key=lambda s: s.start)
        if not view.evidence or not shots:
            return [self.reject(view, "nothing_visible", "no keyframe evidence")]
        cfg = self.config
        out: list[TaskRecord | RejectRecord] = []
        candidates: list[tuple[ShotRecord, str, str, list[str]]] = []
        for shot in shots:
            ev = shot_evidence(view, shot)
            found = {k: seen(ev, k, cfg.min_object_score) for k in KINDS}
            if not any(found.values()):
                out.append(self.reject(view, "nothing_visible", f"shot {shot.index}", shot.shot_id))
                continue
            for kind in KINDS:
                if found[kind]:
                    answer = found[kind].most_common(1)[0][0]
                    frames = [e.frame_id for e in ev if answer in seen([e], kind, cfg.min_object_score)]
                    candidates.append((shot, kind, answer, frames))
        for shot, kind, answer, frames in spread(candidates, cfg.max_per_video):
            # Anything this shot shows at any score is excluded, so no distractor is also right.
            shown_here = set(seen(shot_evidence(view, shot), kind))
            distractors = self._distractors(view, shot, kind, shown_here, collection)
            need = cfg.num_options - 1
            if len(distractors) < need:
                out.append(
                    self.reject(
                        view,
                        "too_few_distractors",
                        f"{kind} {answer!r} in shot {shot.index}: {len(distractors)} distractor(s), need {need}",
                        shot.shot_id,
                    )
                )
                continue
            rng = self.rng(view, f"{shot.shot_id}:{kind}")
            options, letter = letter_options(answer, distractors[:need], rng)
            question = QUESTIONS[kind].format(a=fmt_time(shot.start), b=fmt_time(shot.end))
            out.append(self.task(view, "multiple choice", question, letter, [shot.shot_id, *frames], options=options))
        return out

    def _distractors(
        self, view: VideoView, shot: ShotRecord, kind: str, exclude: set[str], collection: list[VideoView]
    ) -> list[str]:
        """Things of `kind` seen elsewhere: other shots of this video first, then other videos (sorted by id)."""
        min_score = self.config.min_object_score
        same = [e for e in view.evidence if e.shot_id != shot.shot_id]
        others = [
            e for v in sorted(collection, key=lambda v: v.video_id) if v.video_id != view.video_id for e in v.evidence
        ]
        taken = {x.lower() for x in exclude}
        picked: list[str] = []
        rng = self.rng(view, f"{shot.shot_id}:{kind}:pool")
        for pool in (same, others):
            fresh = sorted(x for x in seen(pool, kind, min_score) if x.lower() not in taken)
            rng.shuffle(fresh)
            for x in fresh:
                taken.add(x.lower())
                picked.append(x)
        return picked
