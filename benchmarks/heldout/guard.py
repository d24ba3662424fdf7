"""The held-out guard: refuse a training video that is a near-duplicate of a held-out one, not only an equal file.

Equal bytes are the easy case (the content hash is the video id). A re-encode, a trim or the same generator
recipe with another seed slips past it, so two more signals are compared:

- keyframes: the 64-bit perceptual hash the frames stage stores (`frames.phash`); two keyframes within `MAX_BITS`
  bits are the same picture (the bound `negatives.max_phash_distance` uses). Flat frames (a plain colour: the
  hash says nothing) are ignored, and a video is a near-duplicate when at least `FRAME_SHARE` of its informative
  keyframes match the other video's;
- transcript: the same sentence said (normalised words, at least `MIN_LINE_WORDS` of them) in both videos.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageStat

from schemas.store import Dataset

MAX_BITS = 10
FRAME_SHARE = 0.5
MIN_LINE_WORDS = 4
FLAT_STDDEV = 4.0  # grey-level spread under which a keyframe is flat
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Fingerprint:
    """What the guard compares of one video: its informative keyframes' hashes and its spoken sentences."""

    video_id: str
    name: str
    frames: tuple[int, ...]
    lines: frozenset[str]


@dataclass(frozen=True)
class NearDuplicate:
    held: str
    train: str
    reason: str  # "keyframes" or "transcript"
    detail: str


def informative(jpeg: bytes) -> bool:
    """Whether a keyframe has texture enough for its hash to mean something (a plain colour does not)."""
    return ImageStat.Stat(Image.open(io.BytesIO(jpeg)).convert("L")).stddev[0] >= FLAT_STDDEV


def sentences(text: str) -> set[str]:
    """The normalised sentences of a transcript with at least MIN_LINE_WORDS words."""
    out = set()
    for part in re.split(r"[.!?]+", text.lower()):
        words = _WORD.findall(part)
        if len(words) >= MIN_LINE_WORDS:
            out.add(" ".join(words))
    return out


def fingerprints(data: Path | str) -> list[Fingerprint]:
    """A fingerprint per video of a curated dataset (keyframes from `frames`, sentences from `segments`)."""
    ds = Dataset(data)
    names = {r["video_id"]: Path(r["path"]).name for r in ds.read("videos", ["video_id", "path"]).to_pylist()}
    frames: dict[str, list[int]] = {v: [] for v in names}
    for r in ds.read("frames", ["video_id", "jpeg", "phash"]).to_pylist():
        if r["phash"] and r["jpeg"] and r["video_id"] in frames and informative(r["jpeg"]):
            frames[r["video_id"]].append(int(r["phash"], 16))
    text: dict[str, list[str]] = {v: [] for v in names}
    for r in ds.read("segments", ["video_id", "text"]).to_pylist():
        text.setdefault(r["video_id"], []).append(r["text"])
    return [Fingerprint(v, names[v], tuple(frames[v]), frozenset(sentences(" ".join(text.get(v, []))))) for v in names]


def _matching_frames(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return sum(any((x ^ y).bit_count() <= MAX_BITS for y in b) for x in a)


def near_duplicates(held: list[Fingerprint], train: list[Fingerprint]) -> list[NearDuplicate]:
    """Every (held-out, training) pair that shows the same pictures or says the same sentence."""
    out = []
    for h in held:
        for t in train:
            if h.video_id == t.video_id:
                out.append(NearDuplicate(h.name, t.name, "identical", "the same content hash"))
                continue
            same = _matching_frames(h.frames, t.frames)
            if h.frames and same >= FRAME_SHARE * len(h.frames):
                out.append(NearDuplicate(h.name, t.name, "keyframes", f"{same} of {len(h.frames)} keyframes"))
            shared = sorted(h.lines & t.lines)
            if shared:
                out.append(NearDuplicate(h.name, t.name, "transcript", f'"{shared[0]}"'))
    return out


def refuse_near_duplicates(held: Path | str, train: Path | str) -> None:
    """Stop (SystemExit naming the first pairs) when a training video is a near-duplicate of a held-out one."""
    found = near_duplicates(fingerprints(held), fingerprints(train))
    if found:
        pairs = "; ".join(f"{d.held} ~ {d.train} ({d.reason}: {d.detail})" for d in found[:3])
        raise SystemExit(f"held-out guard: {len(found)} near-duplicate pair(s): {pairs}")
