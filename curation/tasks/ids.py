"""Task identity."""

from __future__ import annotations

import hashlib


def task_id(video_id: str, generator: str, question: str, answer: str) -> str:
    """Deterministic id of a task: a hash of what makes it this task."""
    blob = "\x00".join((video_id, generator, question, answer)).encode()
    return hashlib.sha256(blob).hexdigest()[:20]
