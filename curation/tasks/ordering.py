"""Shot ordering: 3–`ordering_shots` shots described by their evidence, listed in random order; answer their time
order. The listed order is a uniform shuffle — the time order itself included, as often as any other — so reading
the list back ("1, 2, 3") scores no better than a guess.

A shot takes part only if its description (objects, on-screen text, colours — the same summary the text view
uses) is unique among the video's shots and not empty; shots that read alike cannot be told apart, so their
order is not verifiable. Fewer than three describable, distinct shots: the video gets no ordering task.
"""

from __future__ import annotations

from curation.tasks.base import TaskGenerator
from schemas import RejectRecord, ShotRecord, TaskRecord, VideoView
from trainers.textview import shot_evidence, summarise_evidence

EMPTY = "nothing detected"
MIN_SHOTS = 3


def describe_shot(view: VideoView, shot: ShotRecord) -> str:
    """What a shot shows, in words, or "" when nothing was detected."""
    text = summarise_evidence(shot_evidence(view, shot))
    return "" if text == EMPTY else text


class Generator(TaskGenerator):
    """Ordering answers like "3, 1, 2": the clip numbers in the order the clips appear."""

    name = "ordering"
    problem_types = ("ordering",)
    windowed = True  # a long video is asked per window (curation.tasks.quota)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        shots = sorted(view.shots, key=lambda s: s.start)
        if len(shots) < MIN_SHOTS:
            return [self.reject(view, "too_few_shots", f"{len(shots)} shot(s); ordering needs {MIN_SHOTS}")]
        described = [(s, describe_shot(view, s)) for s in shots]
        seen: dict[str, int] = {}
        for _, d in described:
            seen[d] = seen.get(d, 0) + 1
        usable = [(s, d) for s, d in described if d and seen[d] == 1]
        if len(usable) < MIN_SHOTS:
            return [
                self.reject(
                    view,
                    "indistinguishable_shots",
                    f"{len(usable)} of {len(shots)} shots have a distinct description; ordering needs {MIN_SHOTS}",
                )
            ]
        k = min(self.config.ordering_shots, len(usable))
        out: list[TaskRecord | RejectRecord] = []
        chosen_sets: set[tuple[str, ...]] = set()
        for attempt in range(self.config.max_per_video * 4):
            if len(chosen_sets) >= self.config.max_per_video:
                break
            rng = self.rng(view, str(attempt))
            picked = sorted(rng.sample(range(len(usable)), k))
            key = tuple(usable[i][0].shot_id for i in picked)
            if key in chosen_sets:
                continue
            chosen_sets.add(key)
            in_time = [usable[i] for i in picked]
            shown = list(in_time)
            rng.shuffle(shown)
            lines = [f"{i}. {d}" for i, (_, d) in enumerate(shown, start=1)]
            number = {s.shot_id: i for i, (s, _) in enumerate(shown, start=1)}
            answer = ", ".join(str(number[s.shot_id]) for s, _ in in_time)
            question = (
                "These clips from the video are listed in random order:\n"
                + "\n".join(lines)
                + "\nIn what order do they appear in the video? List the clip numbers."
            )
            out.append(self.task(view, "ordering", question, answer, evidence_ids=list(key)))
        return out
