"""The held-out guard refuses near-duplicates — a re-encoded keyframe, a sentence said again — not only equal
files, and lets different videos through (flat plain-colour frames prove nothing)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from benchmarks.heldout.guard import fingerprints, near_duplicates, refuse_near_duplicates
from benchmarks.records import PROV
from curation.phash import phash
from schemas import FrameRecord, SegmentRecord, VideoRecord
from schemas.store import DatasetWriter


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (160, 96), "white")
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = int(rng.integers(0, 140)), int(rng.integers(0, 80))
        draw.rectangle([x, y, x + 20, y + 16], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return img


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def frame(vid: str, i: int, data: bytes) -> FrameRecord:
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    return FrameRecord(vid, f"{vid}-f{i}", f"{vid}-s0", float(i), 160, 96, data, phash(grey), PROV)


def write(root: Path, videos: dict[str, tuple[list[bytes], str]]) -> Path:
    with DatasetWriter(root) as w:
        for name, (frames, said) in videos.items():
            vid = name.ljust(64, "0")
            w.append("videos", [VideoRecord(vid, f"/m/{name}.mp4", 1, "ok", 4.0, 25.0, 160, 96, 0, False, "mp4",
                                            "h264", True, "aac", 16000, 1, PROV)])  # fmt: skip
            w.append("frames", [frame(vid, i, f) for i, f in enumerate(frames)])
            if said:
                w.append("segments", [SegmentRecord(vid, f"{vid}-a0", 0, 0.5, 2.0, said, "en", 0.9, -0.2, 0.0, PROV)])
        w.commit()
    return root


def test_near_duplicates_are_refused_and_others_pass(tmp_path: Path):
    flat = jpeg(Image.new("RGB", (160, 96), "navy"))
    held = write(tmp_path / "held", {"h1": ([jpeg(picture(1)), jpeg(picture(2))], "The orchard was planted early."),
                                     "h2": ([flat], "A violin played softly in the hall.")})  # fmt: skip
    # a re-encode of h1 a little brighter; the same sentence as h2 over other pictures; a different video
    brighter = ImageEnhance.Brightness(picture(1)).enhance(1.08)
    other = ([jpeg(picture(8)), flat], "Turn left after the old bridge.")
    train = write(tmp_path / "train", {"t1": ([jpeg(brighter, 60), jpeg(picture(2), 70)], ""),
                                       "t2": ([jpeg(picture(7))], "a violin PLAYED softly in the hall!"),
                                       "t3": other})  # fmt: skip
    found = {(d.held, d.train, d.reason) for d in near_duplicates(fingerprints(held), fingerprints(train))}
    assert found == {("h1.mp4", "t1.mp4", "keyframes"), ("h2.mp4", "t2.mp4", "transcript")}
    with pytest.raises(SystemExit, match="2 near-duplicate pair"):
        refuse_near_duplicates(held, train)
    clean = write(tmp_path / "clean", {"t3": other})
    refuse_near_duplicates(held, clean)  # only the flat frame is shared: no refusal
