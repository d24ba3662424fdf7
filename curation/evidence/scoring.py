"""Scoring evidence against hand labels: keyframes at labelled times, precision and recall per evidence kind.

A labels file (JSON: `{"clips": {name: [{time, shot, objects, maybe, text, maybe_text, faces, colours,
maybe_colours}, ...]}}`) names clips of the sample folder (`curation.samples`) or OpenCV's example media; `load_set`
decodes the frames at the labelled times and makes them into keyframes the way the shots stage does (at most 640 px
wide, JPEG). A generated 1080p clip with white outlined "Frame = N" / "PTS = X.Ys" overlays (a real clip
upscaled; text known exactly) is added.
Scoring: objects by label per keyframe (a "maybe" label is neither credited nor penalised); OCR by word per
keyframe (case-sensitive, punctuation kept; "maybe_text" words are not penalised); faces by count per keyframe
(null: not scored); colours by name per keyframe ("colours": prominent, "maybe_colours": neither credited nor
penalised; absent: not scored).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from curation.keyframes import encode_jpeg
from curation.samples import opencv_examples
from schemas import EvidenceRecord, FrameRecord, Provenance
from trainers.embedded import cache_root

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
OVERLAY = "overlay1080.mp4"
# The overlay clip: bikes.mp4 (25 fps; cuts ~1.2/3.04/5.48/7.48/9.68 s) upscaled to 1080p with two text lines.
OVERLAY_TIMES = (0.6, 1.4, 2.4, 4.0, 6.4, 8.4, 9.2)
OVERLAY_SHOTS = (0, 1, 1, 2, 3, 4, 4)


def clip_path(name: str) -> Path:
    """Where a labelled clip lives: the sample folder, OpenCV's examples, or the generated overlay clip."""
    if name == OVERLAY:
        return overlay_clip()
    samples = cache_root() / "samples"
    if not (samples / name).is_file():
        from curation.samples import build_samples

        build_samples(samples)
    return samples / name if (samples / name).is_file() else opencv_examples() / name


def overlay_clip() -> Path:
    """A 1080p clip with large white text outlined in black, as players and encoders stamp it ("Frame = 15")."""
    out = cache_root() / "bench" / OVERLAY
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    draw = f"drawtext=fontfile={FONT}:x=80:fontsize=64:fontcolor=white:borderw=4:bordercolor=black"
    vf = (
        f"scale=1920:1080,{draw}:y=80:text='Frame = %{{frame_num}}',"
        f"{draw}:y=170:text='PTS = %{{eif\\:trunc(t)\\:d}}.%{{eif\\:mod(trunc(t*10+0.5)\\,10)\\:d}}s'"
    )
    tmp = out.with_suffix(".part.mp4")
    src = clip_path("bikes.mp4")
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", vf, "-c:v", "libx264", "-preset", "veryfast"]
    subprocess.run([*cmd, "-crf", "23", "-an", str(tmp)], check=True)
    tmp.rename(out)
    return out


def overlay_labels() -> list[dict[str, Any]]:
    """Exact labels of the overlay clip's frames: its text only (objects and faces are not scored there)."""
    out: list[dict[str, Any]] = []
    for t, shot in zip(OVERLAY_TIMES, OVERLAY_SHOTS, strict=True):
        tenths = int(t * 10 + 0.5)
        text = f"Frame = {round(t * 25)} PTS = {tenths // 10}.{tenths % 10}s"
        out.append(
            {"time": t, "shot": shot, "objects": None, "maybe": [], "text": text, "maybe_text": [], "faces": None}
        )
    return out


def frames_at(path: Path, times: list[float], width: int = 640) -> list[np.ndarray]:
    """The decoded frames nearest to `times` (presentation timestamps), scaled to at most `width` pixels wide."""
    best: list[tuple[float, np.ndarray | None]] = [(float("inf"), None) for _ in times]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.pts is None or stream.time_base is None:
                continue
            t = float(frame.pts * stream.time_base)
            for i, want in enumerate(times):
                if abs(t - want) < best[i][0]:
                    best[i] = (abs(t - want), frame.to_ndarray(format="bgr24"))
            if t > max(times) + 1.0:
                break
    out = []
    for _, img in best:
        assert img is not None, f"no frames decoded from {path}"
        if img.shape[1] > width:
            size = (width, round(img.shape[0] * width / img.shape[1] / 2) * 2)
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        out.append(img)
    return out


def load_set(
    labels_file: Path, clips: list[str] | None = None
) -> list[tuple[str, list[FrameRecord], list[dict[str, Any]]]]:
    """Per labelled clip (and the overlay clip): its keyframes (FrameRecords in time order) and their labels."""
    doc = json.loads(labels_file.read_text())
    labelled: dict[str, list[dict[str, Any]]] = {**doc["clips"], OVERLAY: overlay_labels()}
    out = []
    prov = Provenance("bench", "0", "0")
    for name, labels in labelled.items():
        if clips is not None and name not in clips:
            continue
        images = frames_at(clip_path(name), [lab["time"] for lab in labels])
        frames = []
        for i, (lab, img) in enumerate(zip(labels, images, strict=True)):
            jpeg, w, h = encode_jpeg(img, 60_000)
            vid = name.replace(".", "_")
            shot = f"{vid}-s{lab['shot']}"
            frames.append(FrameRecord(vid, f"{vid}-f{i:03d}", shot, lab["time"], w, h, jpeg, "0", prov))
        out.append((name, frames, labels))
    return out


def score(rows: list[EvidenceRecord], labels: list[dict[str, Any]], min_score: float = 0.0) -> dict[str, Counter[str]]:
    """True/false positives and misses per evidence kind over one clip's keyframes."""
    out: dict[str, Counter[str]] = {k: Counter() for k in ("objects", "ocr", "faces", "colours")}
    for row, lab in zip(rows, labels, strict=True):
        if lab["objects"] is not None:
            pred = {o.label for o in row.objects if o.score >= min_score}
            truth, maybe = set(lab["objects"]), set(lab["maybe"])
            out["objects"].update(tp=len(pred & truth), fp=len(pred - truth - maybe), fn=len(truth - pred))
        said, shown = Counter(row.ocr_text.split()), Counter(lab["text"].split())
        hit = said & shown
        fp = sum(n for w, n in (said - hit).items() if w not in lab["maybe_text"])
        out["ocr"].update(tp=sum(hit.values()), fp=fp, fn=sum((shown - hit).values()))
        if lab["faces"] is not None:
            tp = min(row.faces, lab["faces"])
            out["faces"].update(tp=tp, fp=row.faces - tp, fn=lab["faces"] - tp)
        if lab.get("colours") is not None:
            said_colours, prominent = set(row.colours), set(lab["colours"])
            wrong = said_colours - prominent - set(lab.get("maybe_colours", []))
            out["colours"].update(tp=len(said_colours & prominent), fp=len(wrong), fn=len(prominent - said_colours))
    return out


def prf(c: Counter[str]) -> dict[str, float | int]:
    """Precision, recall and the counts behind them."""
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "tp": c["tp"], "fp": c["fp"], "fn": c["fn"]}
