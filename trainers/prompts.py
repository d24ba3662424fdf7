"""Views of a task prompt: without subtitles, and with the shot list shuffled (for T-GRPO).

Prompts follow the text view of `trainers.textview`: the user message holds a ``Shots:`` line followed by one
``Shot N [start–end s]: …`` line per shot, and a transcript block from the line ``Transcript:`` to the next blank
line.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from trainers.textview import strip_transcript

Messages = list[dict[str, Any]]

# Number, times and keyframe ids (ids are numbered in time order) are all cut from a shuffled shot line.
_SHOT_LINE = re.compile(r"^Shot\s+\d+\s*(?:\[[^\]]*\])?\s*(?:\(keyframes [^)]*\))?\s*:?\s*(.*)$")


def strip_subtitles(prompt_messages: Messages) -> Messages:
    """A copy of the prompt with the transcript block cut out of every user message."""
    return [
        {**m, "content": strip_transcript(m["content"])} if m.get("role") == "user" else dict(m)
        for m in prompt_messages
    ]


def shuffle_shot_lines(text: str, rng: random.Random) -> str | None:
    """The text with its shot lines in a random order, their numbers and times removed; None if < 2 shots.

    Numbers, times and keyframe ids go because any of them would give the order away: the shuffled view keeps
    what each shot shows and loses when it happens, which is what T-GRPO contrasts against.
    """
    lines = text.split("\n")
    idx = [i for i, line in enumerate(lines) if _SHOT_LINE.match(line)]
    if len(idx) < 2:
        return None
    bodies = [f"Shot: {_SHOT_LINE.match(lines[i]).group(1)}" for i in idx]  # type: ignore[union-attr]
    order = list(range(len(bodies)))
    while order == sorted(order):  # a real permutation, never the identity
        rng.shuffle(order)
    for slot, j in zip(idx, order, strict=True):
        lines[slot] = bodies[j]
    return "\n".join(lines)


def shuffled_view(prompt_messages: Messages, rng: random.Random) -> Messages | None:
    """The prompt with the shot list of its user message shuffled (see `shuffle_shot_lines`); None if it
    has fewer than two shots (nothing to shuffle)."""
    out: Messages = []
    changed = False
    for m in prompt_messages:
        if m.get("role") == "user" and not changed and isinstance(m.get("content"), str):
            text = shuffle_shot_lines(m["content"], rng)
            if text is not None:
                out.append({**m, "content": text})
                changed = True
                continue
        out.append(dict(m))
    return out if changed else None


_RANGE = re.compile(r"\[(\d+(?:\.\d+)?)–(\d+(?:\.\d+)?)s\]")
_NAMED_TIME = re.compile(r"(\d+(?:\.\d+)?)\s*s\b")
_SHOWN = re.compile(r", \d+ of (\d+) shots shown")


def coarse_to_fine(n: int) -> list[int]:
    """Indices 0..n-1 ordered so every prefix is spread over the range: middle, quarters, eighths, …"""
    order: list[int] = []
    seen: set[int] = set()
    parts = 1
    while len(order) < n:
        for k in range(parts):
            i = min(n - 1, int((k + 0.5) * n / parts))
            if i not in seen:
                seen.add(i)
                order.append(i)
        parts *= 2
        if parts > 2 * n:
            order += [i for i in range(n) if i not in seen]
    return order


def cut_view_lines(text: str, fits: Callable[[str], bool]) -> str | None:
    """`text` (a user message holding a text view) with as few shot and transcript lines cut as make it `fits`.

    Lines whose time range overlaps the times the rest of the message names (the question's window, a span) are
    cut last; the others are kept spread over the video. The header's "K of N shots shown" is kept true. None when even
    the lines the question names do not fit."""
    if fits(text):
        return text
    lines = text.split("\n")
    view_lines = [i for i, line in enumerate(lines) if _SHOT_LINE.match(line) or line.startswith("[")]
    asked = [line for i, line in enumerate(lines) if i not in set(view_lines) and not line.startswith("Video: ")]
    named = [float(t) for line in asked for t in _NAMED_TIME.findall(line)]

    span = (min(named), max(named)) if named else None  # as `curation.budget.required_shots` reads a question

    def wanted(i: int) -> bool:
        m = _RANGE.search(lines[i])
        if not m or span is None:
            return False
        a, b = float(m.group(1)), float(m.group(2))
        return min(b, span[1]) - max(a, span[0]) > 1e-6 or a <= span[0] < b

    first = [i for i in view_lines if wanted(i)]
    rest = [i for i in view_lines if not wanted(i)]
    order = first + [rest[j] for j in coarse_to_fine(len(rest))]
    total_shots = sum(1 for i in view_lines if _SHOT_LINE.match(lines[i]))

    def render(k: int) -> str:
        keep = set(order[:k])
        out = [line for i, line in enumerate(lines) if i not in view_lines or i in keep]
        shown = sum(1 for i in keep if _SHOT_LINE.match(lines[i]))
        for j, line in enumerate(out):
            if line.startswith("Video: "):
                note = f", {shown} of {total_shots} shots shown"
                out[j] = _SHOWN.sub(note, line) if _SHOWN.search(line) else line.rstrip(".") + note + "."
                break
        return "\n".join(out)

    lo, hi = 0, len(order)  # render(lo) fits is unknown; find the largest k that fits
    if not fits(render(0)):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(render(mid)):
            lo = mid
        else:
            hi = mid - 1
    return render(lo)


def fit_prompt(prompt_messages: Messages, fits: Callable[[Messages], bool]) -> Messages | None:
    """The prompt with its user message's text view cut (`cut_view_lines`) until the whole prompt `fits`; None when
    it cannot be made to fit."""
    if fits(prompt_messages):
        return prompt_messages
    for n, m in enumerate(prompt_messages):
        if m.get("role") == "user" and isinstance(m.get("content"), str):

            def with_text(text: str, n: int = n, m: dict[str, Any] = m) -> Messages:
                return [*prompt_messages[:n], {**m, "content": text}, *prompt_messages[n + 1 :]]

            text = cut_view_lines(m["content"], lambda t: fits(with_text(t)))
            return with_text(text) if text is not None else None
    return None
