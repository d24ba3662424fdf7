"""Hand-built videos with one keyframe per shot, shared by the skeleton and compositional tests."""

from __future__ import annotations

from benchmarks.records import PROV
from schemas import (
    DetectedObject,
    EvidenceRecord,
    FrameRecord,
    SegmentRecord,
    ShotRecord,
    VideoRecord,
    VideoView,
    WordRecord,
)
from tests.views import obj

__all__ = ["make_video", "obj", "shop", "street"]


def make_video(
    vid: str,
    duration: float,
    shots: list[tuple[float, float]],
    evidence: list[tuple[float, list[DetectedObject], str, list[str]]],
    speech: list[tuple[float, list[str]]],
) -> VideoView:
    """A video: shots (start, end), one keyframe per shot (time, objects, OCR text, colours), spoken segments
    (start, words), each word 0.3 s long and 0.4 s apart."""
    video = VideoRecord(vid, f"/{vid}.mp4", 1, "ok", duration, 25.0, 640, 272, 0, False, "mp4", "h264", True, "aac",
                        16000, 1, PROV)  # fmt: skip
    shot_rows = [
        ShotRecord(vid, f"{vid}-s{i}", i, a, b, "cut" if i else "start", PROV) for i, (a, b) in enumerate(shots)
    ]
    frames, ev = [], []
    for i, (t, objects, text, colours) in enumerate(evidence):
        fid = f"{vid}-f{i:05d}"
        frames.append(FrameRecord(vid, fid, f"{vid}-s{i}", t, 640, 272, b"", "0" * 16, PROV))
        people = sum(o.label == "person" for o in objects)
        ev.append(EvidenceRecord(vid, fid, f"{vid}-s{i}", t, "test", objects=objects, ocr_text=text, people=people,
                                 colours=colours))  # fmt: skip
    segments, words = [], []
    for j, (start, said) in enumerate(speech):
        sid = f"{vid}-g{j}"
        segments.append(SegmentRecord(vid, sid, j, start, start + 0.4 * len(said), " " + " ".join(said), "en", 0.99,
                                      -0.2, 0.01, PROV))  # fmt: skip
        words += [WordRecord(vid, sid, k, start + 0.4 * k, start + 0.4 * k + 0.3, w, 0.9) for k, w in enumerate(said)]
    return VideoView(video=video, shots=shot_rows, segments=segments, words=words, frames=frames, evidence=ev)


def street() -> VideoView:
    return make_video(
        "a" * 16,
        12.0,
        [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0)],
        [
            (2.0, [obj("person"), obj("person", 0.5)], "", ["red"]),
            (6.0, [obj("car")], "OPEN 24H", ["blue", "white"]),
            (10.0, [obj("dog")], "", ["green"]),
        ],
        [(0.5, ["Look", "at", "them", "now."]), (8.4, ["A", "good", "dog", "indeed."])],
    )


def shop() -> VideoView:
    return make_video(
        "b" * 16,
        8.0,
        [(0.0, 4.0), (4.0, 8.0)],
        [(2.0, [obj("bus"), obj("cat", 0.5)], "EXIT", ["yellow"]), (6.0, [obj("bicycle")], "SALE NOW", ["black"])],
        [(0.5, ["Welcome", "to", "the", "show."])],
    )
