"""Views of a task prompt: without subtitles, and with the shot list shuffled (for T-GRPO).

Prompts follow the text view of `trainers.textview`: the user message holds a ``Shots:`` line followed by one
``Shot N [start–end s]: …`` line per shot, and a transcript block from the line ``Transcript:`` to the next blank
line.
"""

from __future__ import annotations

import random
import re
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
