"""The text-only view of a video (shots with what is visible, transcript) and the chat prompt built on it.

Layout, relied on by the trainers and the draft/refine stages:

    Video: 12.00s long, 640x272.
    Shots:
    Shot 1 [0.00–4.00s]: person ×2, car; text "OPEN"; colours red, blue
    Shot 2 [4.00–8.00s]: ...
    <blank line>
    Transcript:
    [0.50–2.10s] hello there
    <blank line>

The transcript block runs from the line `Transcript:` to the next blank line, so an evaluation without
subtitles can cut it out (`strip_transcript`); `text_view(view, subtitles=False)` gives exactly that text.
"""

from __future__ import annotations

import re
from collections import Counter

from schemas import EvidenceRecord, Message, SegmentRecord, ShotRecord, TaskRecord, VideoView
from trainers.templates import TASK_SYSTEM, TASK_USER

# The phrase that opens the last sentence of every chain, before the answer.
CONCLUSION = "So the answer is"

def spread(items: list, n: int) -> list:
    """At most `n` items picked evenly across the list (first and last included), in order."""
    if len(items) <= n:
        return list(items)
    if n == 1:
        return [items[len(items) // 2]]
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]


MAX_OBJECTS = 6
MAX_COLOURS = 3
MAX_TEXT_CHARS = 60

ANSWER_FORMATS: dict[str, str] = {
    "multiple choice": "the letter of one option",
    "numerical": "a number, e.g. 3 or 4.5",
    "regression": "a number, e.g. 4.5",
    "OCR": "the text exactly as it appears on screen",
    "free-form": "a short phrase",
    "span": "start and end in seconds, e.g. [12.40, 15.00]",
    "ordering": "the clip numbers in time order, separated by commas",
    "box": 'a JSON list like [{"time": 1.0, "x1": 0.1, "y1": 0.2, "x2": 0.5, "y2": 0.6}] (coordinates 0-1)',
}

_LETTERED = re.compile(r"^\s*[A-Z][.)]\s")


def short_frame_id(frame_id: str) -> str:
    """The keyframe id prompts list and chains cite: the part after the video prefix (`abc…-f00003` → `f00003`)."""
    return frame_id.rsplit("-", 1)[-1]


def shot_overlaps(shot: ShotRecord, start: float, end: float, video_end: float) -> bool:
    """Whether `shot` overlaps [start, end]; a point belongs to the shot it starts (the last shot owns the end)."""
    if start == end:
        return shot.start <= start < shot.end or start == shot.end == video_end
    return min(end, shot.end) - max(start, shot.start) > 1e-6


def overlapping_shots(view: VideoView, start: float, end: float) -> list[ShotRecord]:
    """Shots that overlap [start, end], in time order (a point range picks the shot containing it)."""
    return [s for s in sorted(view.shots, key=lambda s: s.start) if shot_overlaps(s, start, end, view.duration)]


def fmt_time(t: float) -> str:
    """Seconds with two decimals, the way every time in the text view is written."""
    return f"{t:.2f}"


def shot_evidence(view: VideoView, shot: ShotRecord) -> list[EvidenceRecord]:
    """The evidence records of a shot's keyframes (by shot id, else by time inside the shot)."""
    by_id = [e for e in view.evidence if e.shot_id == shot.shot_id]
    if by_id:
        return by_id
    return [e for e in view.evidence if shot.start <= e.time < shot.end]


def object_counts(evidence: list[EvidenceRecord]) -> Counter[str]:
    """Per label, the most instances in any single keyframe (summing across frames would double-count)."""
    best: Counter[str] = Counter()
    for ev in evidence:
        per_frame = Counter(o.label.lower() for o in ev.objects)
        if ev.people and "person" not in per_frame:
            per_frame["person"] = ev.people
        for label, n in per_frame.items():
            best[label] = max(best[label], n)
    return best


def summarise_evidence(evidence: list[EvidenceRecord]) -> str:
    """One compact clause list: objects (with counts), on-screen text, colours, first caption."""
    parts: list[str] = []
    counts = object_counts(evidence)
    if counts:
        objs = [f"{lab} ×{n}" if n > 1 else lab for lab, n in counts.most_common(MAX_OBJECTS)]
        parts.append(", ".join(objs))
    texts: list[str] = []
    for ev in evidence:
        t = " ".join(ev.ocr_text.split())
        if t and t not in texts:
            texts.append(t)
    if texts:
        joined = " / ".join(texts)
        if len(joined) > MAX_TEXT_CHARS:
            joined = joined[: MAX_TEXT_CHARS - 1].rstrip() + "…"
        parts.append(f'text "{joined}"')
    colours: list[str] = []
    for ev in evidence:
        for c in ev.colours:
            if c not in colours:
                colours.append(c)
    if colours:
        parts.append("colours " + ", ".join(colours[:MAX_COLOURS]))
    captions = [ev.caption for ev in evidence if ev.caption]
    if captions:
        parts.append(f"seen: {captions[0]}")
    return "; ".join(parts) if parts else "nothing detected"


def _shots(view: VideoView) -> list[ShotRecord]:
    if view.shots:
        return sorted(view.shots, key=lambda s: s.start)
    # No shot table (e.g. a single-shot video): the whole video is one shot.
    from schemas import Provenance

    return [
        ShotRecord(
            video_id=view.video_id,
            shot_id="",
            index=0,
            start=0.0,
            end=view.duration,
            transition_in="start",
            provenance=Provenance(stage="textview", config_hash="", package_version=""),
        )
    ]


def shot_line(number: int, shot: ShotRecord, view: VideoView, keyframes: bool = False) -> str:
    """`Shot N [a–bs]: what is visible`, with `(keyframes f1, f2)` before the colon when asked."""
    summary = summarise_evidence(shot_evidence(view, shot))
    kfs = ""
    if keyframes:
        ids = [short_frame_id(f.frame_id) for f in sorted(view.frames, key=lambda f: f.time)
               if f.shot_id == shot.shot_id]  # fmt: skip
        kfs = f" (keyframes {', '.join(ids)})" if ids else ""
    return f"Shot {number} [{fmt_time(shot.start)}–{fmt_time(shot.end)}s]{kfs}: {summary}"


def segment_line(seg: SegmentRecord) -> str:
    """`[a–bs] text` for a transcript segment ("" when it has no text)."""
    text = " ".join(seg.text.split())
    return f"[{fmt_time(seg.start)}–{fmt_time(seg.end)}s] {text}" if text else ""


def text_view(
    view: VideoView,
    subtitles: bool = True,
    keyframes: bool = False,
    shot_ids: set[str] | None = None,
    segment_ids: set[str] | None = None,
) -> str:
    """The text-only view of a video. Ends with a blank line; the transcript block ends with one too.

    `keyframes` lists each shot's keyframe ids (what evidence-bound chains cite, see `trainers.citations`).
    `shot_ids` / `segment_ids` keep only those shots / transcript segments (a viewing budget, see
    `curation.budget`); shots keep their numbers in the whole video, and the header says how many are shown.
    """
    v = view.video
    header = f"Video: {fmt_time(view.duration)}s long"
    if v.width and v.height:
        header += f", {v.width}x{v.height}"
    if not v.has_audio:
        header += ", no audio"
    shots = _shots(view)
    if shot_ids is not None:
        header += f", {sum(s.shot_id in shot_ids for s in shots)} of {len(shots)} shots shown"
    lines = [header + ".", "Shots:"]
    for i, shot in enumerate(shots, start=1):
        if shot_ids is None or shot.shot_id in shot_ids:
            lines.append(shot_line(i, shot, view, keyframes))
    lines.append("")
    if subtitles:
        lines.append("Transcript:")
        segs = sorted(view.segments, key=lambda s: s.start)
        for seg in segs:
            line = segment_line(seg)
            if line and (segment_ids is None or seg.segment_id in segment_ids):
                lines.append(line)
        if len(lines) and lines[-1] == "Transcript:":
            lines.append("(no speech)" if segment_ids is None or not view.segments else "(not shown)")
        lines.append("")
    return "\n".join(lines) + "\n"


def strip_transcript(text: str) -> str:
    """Remove the transcript block (from the line `Transcript:` through the next blank line)."""
    out: list[str] = []
    skipping = False
    for line in text.split("\n"):
        if not skipping and line == "Transcript:":
            skipping = True
            continue
        if skipping:
            if line.strip() == "":
                skipping = False
            continue
        out.append(line)
    return "\n".join(out)


def lettered_options(options: list[str]) -> list[str]:
    """Options as `A. text` lines; options already lettered are kept as they are."""
    if all(_LETTERED.match(o) for o in options):
        return list(options)
    return [f"{chr(ord('A') + i)}. {o}" for i, o in enumerate(options)]


def answer_format(problem_type: str) -> str:
    """How the answer to a problem type must be written (matches trainers' reward parsing)."""
    return ANSWER_FORMATS.get(problem_type, "a short phrase")


def question_block(task: TaskRecord) -> dict[str, str]:
    """The question, the options block (empty or ending in a newline) and the answer format, for templates."""
    opts = lettered_options(task.options)
    return {
        "question": task.question.strip(),
        "options": ("Options:\n" + "\n".join(opts) + "\n") if opts else "",
        "answer_format": answer_format(task.problem_type),
    }


def task_messages(
    task: TaskRecord, view: VideoView, subtitles: bool = True, view_text: str | None = None
) -> list[Message]:
    """System + user messages asking for `<think>…</think><answer>…</answer>` on this task (on `view_text`,
    e.g. a budgeted text view, when given)."""
    text = view_text if view_text is not None else text_view(view, subtitles=subtitles)
    user = TASK_USER.render(view=text, **question_block(task))
    return [Message(role="system", content=TASK_SYSTEM.text), Message(role="user", content=user)]


def task_prompt_hash() -> str:
    """The prompt hash of `task_messages` (system + user templates)."""
    from trainers.templates import combined_hash

    return combined_hash(TASK_SYSTEM, TASK_USER)
