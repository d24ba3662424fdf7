"""Which transcript segments speech tasks may quote: those in the configured languages, never unknown ones.

A segment's language is known when Whisper (or the subtitle track's tag) gives it with at least
`tasks.min_language_probability`; `tasks.languages` narrows the set (empty: any known language). Text whose
language is unknown is often Whisper writing one language's sounds in another's words, so it is never quoted.
"""

from __future__ import annotations

from curation.tasks.base import TasksConfig
from schemas import SegmentRecord, VideoView


def quotable(segment: SegmentRecord, config: TasksConfig) -> bool:
    """Whether a task may quote this segment's text."""
    if not segment.language or segment.language_probability < config.min_language_probability:
        return False
    return not config.languages or segment.language in config.languages


def quotable_segments(view: VideoView, config: TasksConfig, source: str | None = None) -> list[SegmentRecord]:
    """The view's quotable segments in time order, optionally of one `source` ("asr" or "subtitle")."""
    return sorted(
        (s for s in view.segments if quotable(s, config) and (source is None or s.source == source)),
        key=lambda s: (s.start, s.index),
    )
