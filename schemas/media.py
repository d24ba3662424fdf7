"""Records of the perception stages: videos, shots, ASR segments and words, keyframes, visual evidence."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.common import DetectedObject, Provenance


@dataclass
class VideoRecord:
    """One input file. `video_id` is the sha256 of its bytes; times are seconds on its own timeline."""

    video_id: str
    path: str
    size_bytes: int
    status: str  # "ok" or "rejected"
    duration: float | None
    fps: float | None
    width: int | None
    height: int | None
    rotation: int
    vfr: bool
    container: str | None
    video_codec: str | None
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None
    provenance: Provenance


@dataclass
class ShotRecord:
    video_id: str
    shot_id: str
    index: int
    start: float
    end: float
    transition_in: str  # "start", "cut" or "fade"
    provenance: Provenance


@dataclass
class SegmentRecord:
    """One transcript segment (a time span with text): ASR speech with whisper's confidences, or a cue of an
    embedded subtitle track (`source` "subtitle", confidences 0). `language` is the segment's own ("" unknown)."""

    video_id: str
    segment_id: str
    index: int
    start: float
    end: float
    text: str
    language: str
    language_probability: float
    avg_logprob: float
    no_speech_prob: float
    provenance: Provenance
    source: str = "asr"  # "asr" or "subtitle"
    compression_ratio: float = 0.0


@dataclass
class WordRecord:
    video_id: str
    segment_id: str
    index: int
    start: float
    end: float
    word: str
    probability: float


@dataclass
class FrameRecord:
    """A keyframe. Image bytes live only in this table, never in the pools."""

    video_id: str
    frame_id: str
    shot_id: str
    time: float
    width: int
    height: int
    jpeg: bytes
    phash: str  # 64-bit perceptual hash, hex
    provenance: Provenance


@dataclass
class EvidenceRecord:
    """What a backend saw in one keyframe: only evidence confident enough to ask about, each item with its score.

    `objects` are the detections kept (score = detector confidence; see curation/evidence/detector.py), `ocr_text`
    the kept words joined, `ocr_words` those words with their boxes and tesseract confidence (0-1),
    `ocr_confidence` the lowest of them (0.0 when there is no text, or from a backend that gives none), `faces`
    the number of `face_boxes` (a face detector's boxes and scores), `people` the kept person boxes.
    """

    video_id: str
    frame_id: str
    shot_id: str
    time: float
    backend: str
    objects: list[DetectedObject] = field(default_factory=list)
    ocr_text: str = ""
    people: int = 0
    faces: int = 0
    colours: list[str] = field(default_factory=list)
    brightness: float = 0.0
    motion: float = 0.0
    caption: str | None = None
    provenance: Provenance | None = None
    ocr_words: list[DetectedObject] = field(default_factory=list)
    ocr_confidence: float = 0.0
    face_boxes: list[DetectedObject] = field(default_factory=list)
