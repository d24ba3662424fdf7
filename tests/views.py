"""Hand-built video views with known evidence, and tasks and chains on them, for tests that need no media.

`make_view` is one 12 s video of three shots; `build_view` builds any view from plain data, and `street_view` and
`kitchen_view` are two such views with speech, objects, text and colours.
"""

from __future__ import annotations

import dataclasses
import hashlib

from schemas import (
    CotRecord,
    DetectedObject,
    EvidenceRecord,
    FrameRecord,
    Provenance,
    SegmentRecord,
    ShotRecord,
    TaskRecord,
    VideoRecord,
    VideoView,
    WordRecord,
)

PROV = Provenance(stage="test", config_hash="0" * 16, package_version="0")


def obj(label: str, x: float = 0.1) -> DetectedObject:
    return DetectedObject(label, 0.9, x, 0.1, x + 0.2, 0.9)


def make_view() -> VideoView:
    """12 s, three 4 s shots: two people in red; a car by an "OPEN 24H" sign; a dog on grass."""
    video = VideoRecord(
        "vid", "/v.mp4", 1, "ok", 12.0, 25.0, 640, 272, 0, False, "mp4", "h264", True, "aac", 16000, 1, PROV
    )
    shots = [
        ShotRecord("vid", f"s{i}", i, a, b, "start" if i == 0 else "cut", PROV)
        for i, (a, b) in enumerate([(0.0, 4.0), (4.0, 8.0), (8.0, 12.0)])
    ]
    frames = [FrameRecord("vid", f"f{i}", f"s{i}", t, 640, 272, b"", "0" * 16, PROV) for i, t in enumerate([2, 6, 10])]
    evidence = [
        EvidenceRecord(
            "vid", "f0", "s0", 2.0, "test", objects=[obj("person"), obj("person", 0.5)], people=2, colours=["red"]
        ),
        EvidenceRecord(
            "vid", "f1", "s1", 6.0, "test", objects=[obj("car")], ocr_text="OPEN 24H", colours=["blue", "white"]
        ),
        EvidenceRecord("vid", "f2", "s2", 10.0, "test", objects=[obj("dog")], colours=["green"]),
    ]
    segments = [
        SegmentRecord("vid", "g0", 0, 0.5, 2.1, " Look at them.", "en", 0.99, -0.2, 0.01, PROV),
        SegmentRecord("vid", "g1", 1, 8.4, 9.9, " A good dog.", "en", 0.99, -0.2, 0.01, PROV),
    ]
    return VideoView(video=video, shots=shots, segments=segments, frames=frames, evidence=evidence)


MC = TaskRecord(
    "t-mc", "vid", "test", "multiple choice", "Which vehicle is shown?", "B", options=["A. dog", "B. car", "C. bus"]
)


def cot(draft: str, task: TaskRecord = MC) -> CotRecord:
    return CotRecord("c", task.task_id, "vid", "m", draft, None, None, 0.0, 0.0, 0.0, 0.0, 0.0, False, None)


def build_view(
    video_id: str,
    shots: list[dict],
    speech: list[list[tuple[str, float, float]]] = (),
    duration: float | None = None,
) -> VideoView:
    """A VideoView from plain data. Each shot: {"start", "end", "frames": [{"objects": [(label, score, box)],
    "ocr": str, "colours": [...], "phash": str}]}; speech: segments, each a list of (word, start, end)."""
    end = duration if duration is not None else max(s["end"] for s in shots)
    video = VideoRecord(video_id, f"/videos/{video_id}.mp4", 1000, "ok", end, 25.0, 320, 240, 0, False, "mp4",
                        "h264", bool(speech), None, None, None, PROV)  # fmt: skip
    view = VideoView(video=video)
    for i, s in enumerate(shots):
        shot_id = f"{video_id}-s{i}"
        view.shots.append(ShotRecord(video_id, shot_id, i, s["start"], s["end"], "cut" if i else "start", PROV))
        frames = s.get("frames", [{}])
        for j, f in enumerate(frames):
            t = s["start"] + (s["end"] - s["start"]) * (j + 1) / (len(frames) + 1)
            frame_id = f"{shot_id}-f{j}"
            phash = f.get("phash", hashlib.sha256(frame_id.encode()).hexdigest()[:16])
            view.frames.append(FrameRecord(video_id, frame_id, shot_id, t, 320, 240, b"", phash, PROV))
            objects = [DetectedObject(lab, sc, *box) for lab, sc, box in f.get("objects", [])]
            view.evidence.append(
                EvidenceRecord(
                    video_id,
                    frame_id,
                    shot_id,
                    t,
                    "test",
                    objects,
                    f.get("ocr", ""),
                    colours=list(f.get("colours", [])),
                )  # fmt: skip
            )
    for k, seg in enumerate(speech):
        seg_id = f"{video_id}-g{k}"
        text = " ".join(w for w, _, _ in seg)
        view.segments.append(
            SegmentRecord(video_id, seg_id, k, seg[0][1], seg[-1][2], text, "en", 0.99, -0.2, 0.01, PROV)
        )
        for n, (w, a, b) in enumerate(seg):
            view.words.append(WordRecord(video_id, seg_id, n, a, b, w, 0.95))
    return view


BOX = (0.1, 0.2, 0.5, 0.6)


def street_view(video_id: str = "vid-street") -> VideoView:
    """Four visually distinct shots with speech; a phrase ("look at this") is said twice."""
    return build_view(
        video_id,
        [
            {"start": 0.0, "end": 3.0, "frames": [
                {"objects": [("car", 0.9, BOX)], "colours": ["red"]},
                {"objects": [("car", 0.9, BOX)], "colours": ["red"]}]},
            {"start": 3.0, "end": 6.0, "frames": [
                {"objects": [("person", 0.8, BOX), ("person", 0.7, (0.6, 0.1, 0.9, 0.9))], "colours": ["green"]},
                {"objects": [("person", 0.8, BOX), ("person", 0.7, (0.6, 0.1, 0.9, 0.9))], "colours": ["green"]}]},
            {"start": 6.0, "end": 9.0, "frames": [{"ocr": "OPEN DAILY", "colours": ["blue"]}]},
            {"start": 9.0, "end": 12.0, "frames": [{"objects": [("dog", 0.95, BOX)], "colours": ["yellow"]}]},
        ],
        speech=[
            [("Look", 0.5, 0.8), ("at", 0.8, 0.9), ("this", 0.9, 1.2), ("car.", 1.2, 1.6)],
            [("The", 3.2, 3.4), ("quick", 3.4, 3.8), ("brown", 3.8, 4.1), ("fox.", 4.1, 4.6)],
            [("Look", 6.5, 6.8), ("at", 6.8, 6.9), ("this", 6.9, 7.2), ("car.", 7.2, 7.7)],
        ],
    )  # fmt: skip


def kitchen_view(video_id: str = "vid-kitchen") -> VideoView:
    return build_view(
        video_id,
        [
            {"start": 0.0, "end": 4.0, "frames": [{"objects": [("cup", 0.9, BOX)], "colours": ["white"]}]},
            {"start": 4.0, "end": 8.0, "frames": [{"objects": [("knife", 0.9, BOX)], "colours": ["grey"],
                                                   "ocr": "SALE"}]},
        ],
    )  # fmt: skip


def other_view() -> VideoView:
    """A second 6 s video: a cat and a bicycle; someone says "the weather is nice today"."""
    base = make_view()
    video = dataclasses.replace(base.video, video_id="vid2", path="/w.mp4", duration=6.0)
    shots = [dataclasses.replace(s, video_id="vid2", shot_id=f"w{s.index}") for s in base.shots[:2]]
    frames = [dataclasses.replace(f, video_id="vid2", frame_id=f"wf{i}", shot_id=f"w{i}") for i, f in
              enumerate(base.frames[:2])]  # fmt: skip
    evidence = [
        dataclasses.replace(base.evidence[0], video_id="vid2", frame_id="wf0", shot_id="w0", objects=[obj("cat")],
                            people=0),
        dataclasses.replace(base.evidence[1], video_id="vid2", frame_id="wf1", shot_id="w1",
                            objects=[obj("bicycle")], ocr_text=""),
    ]  # fmt: skip
    seg = SegmentRecord("vid2", "h0", 0, 1.0, 3.0, " The weather is nice today.", "en", 0.99, -0.2, 0.01, PROV)
    ws = [WordRecord("vid2", "h0", i, 1.0 + 0.4 * i, 1.3 + 0.4 * i, w, 0.9)
          for i, w in enumerate(["The", "weather", "is", "nice", "today."])]  # fmt: skip
    return VideoView(video=video, shots=shots, segments=[seg], words=ws, frames=frames, evidence=evidence)


def silent_view() -> VideoView:
    """make_view without an audio track (and so without a transcript)."""
    base = make_view()
    video = dataclasses.replace(base.video, video_id="vid3", has_audio=False)
    return dataclasses.replace(base, video=video, segments=[], words=[])
