"""Pieces shared by every record: provenance and chat messages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Provenance:
    """Where a row came from: the stage, its config hash, models and prompt template used."""

    stage: str
    config_hash: str
    package_version: str
    models: list[str] = field(default_factory=list)
    prompt_hash: str | None = None


@dataclass
class Message:
    """One chat turn, in the `messages` form TRL and Hugging Face chat templates use."""

    role: str
    content: str


@dataclass
class Box:
    """An axis-aligned box in normalised [0, 1] image coordinates at a time on the video's timeline."""

    time: float
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class DetectedObject:
    label: str
    score: float
    x1: float
    y1: float
    x2: float
    y2: float
