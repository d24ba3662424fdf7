"""What the synthesis stages receive for one video: every perception record that belongs to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.media import (
    EvidenceRecord,
    FrameRecord,
    SegmentRecord,
    ShotRecord,
    VideoRecord,
    WordRecord,
)


@dataclass
class VideoView:
    """One video's perception results, in time order. `frames` carry no image bytes unless a stage asks."""

    video: VideoRecord
    shots: list[ShotRecord] = field(default_factory=list)
    segments: list[SegmentRecord] = field(default_factory=list)
    words: list[WordRecord] = field(default_factory=list)
    frames: list[FrameRecord] = field(default_factory=list)
    evidence: list[EvidenceRecord] = field(default_factory=list)

    @property
    def video_id(self) -> str:
        return self.video.video_id

    @property
    def duration(self) -> float:
        return self.video.duration or 0.0
