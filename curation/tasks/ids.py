"""Task identity."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def task_id(video_id: str, generator: str, question: str, answer: str, options: Sequence[str] = ()) -> str:
    """Deterministic id of a task: a hash of what makes it this task — its options too, so a chain drafted (and
    cached) for one set of options is never reused for another."""
    blob = "\x00".join((video_id, generator, question, answer, *options)).encode()
    return hashlib.sha256(blob).hexdigest()[:20]
