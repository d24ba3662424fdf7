"""Small, valid records of every table, for the store and query tests and the integrity benchmark."""

from __future__ import annotations

from typing import Any

from schemas import (
    CotRecord,
    DetectedObject,
    EvidenceRecord,
    FrameRecord,
    Message,
    NegativeRecord,
    PairRecord,
    Provenance,
    RejectRecord,
    RlRecord,
    SegmentRecord,
    SftRecord,
    ShotRecord,
    TaskRecord,
    VideoRecord,
    WordRecord,
)

PROV = Provenance(stage="test", config_hash="0" * 16, package_version="0.1.0", models=["m"], prompt_hash=None)


def sample_records(vid: str = "a" * 64) -> dict[str, list[Any]]:
    """One or two records per table, all joined by `vid`."""
    short = vid[:16]
    msgs = [Message("system", "s"), Message("user", "u"), Message("assistant", "<think>t</think><answer>A</answer>")]
    return {
        "videos": [
            VideoRecord(
                vid, "/x/a b.mp4", 10, "ok", 12.0, 25.0, 640, 360, 0, False, "mp4", "h264", True, "aac", 16000, 1, PROV
            )
        ],
        "shots": [
            ShotRecord(vid, f"{short}-s0000", 0, 0.0, 4.0, "start", PROV),
            ShotRecord(vid, f"{short}-s0001", 1, 4.0, 8.0, "cut", PROV),
        ],
        "segments": [SegmentRecord(vid, f"{short}-a0000", 0, 0.5, 2.2, "Welcome.", "en", 0.99, -0.2, 0.01, PROV)],
        "words": [WordRecord(vid, f"{short}-a0000", 0, 0.5, 1.0, "Welcome", 0.9)],
        "frames": [FrameRecord(vid, f"{short}-f00000", f"{short}-s0000", 1.0, 64, 36, b"\xff\xd8jpeg", "0f" * 8, PROV)],
        "evidence": [
            EvidenceRecord(
                vid,
                f"{short}-f00000",
                f"{short}-s0000",
                1.0,
                "classic",
                [DetectedObject("car", 0.8, 0.1, 0.1, 0.5, 0.5)],
                "EXIT",
                1,
                0,
                ["red"],
                0.4,
                0.0,
                None,
                PROV,
            )
        ],
        "tasks": [
            TaskRecord(
                "t1",
                vid,
                "visible",
                "multiple choice",
                "What colour?",
                "A",
                ["A. red", "B. blue"],
                None,
                [f"{short}-f00000"],
                False,
                "train",
                PROV,
            )
        ],
        "cot": [
            CotRecord(
                "c1",
                "t1",
                vid,
                "m",
                "<think>d</think><answer>A</answer>",
                None,
                "A",
                1.0,
                1.0,
                0.5,
                1.0,
                1.0,
                True,
                None,
                PROV,
            )
        ],
        "sft": [SftRecord("s1", "t1", vid, "train", "multiple choice", msgs, "/x/a b.mp4", [f"{short}-f00000"], PROV)],
        "rl": [
            RlRecord(
                "r1",
                "t1",
                vid,
                "train",
                "span",
                msgs[:2],
                "[0.50, 2.20]",
                [],
                [0.5, 2.2],
                0.5,
                ["n1"],
                "/x/a b.mp4",
                PROV,
            )
        ],
        "pairs": [
            PairRecord(
                "p1",
                "t1",
                vid,
                "train",
                msgs[:2],
                "<think>a</think><answer>A</answer>",
                "<think>b</think><answer>B</answer>",
                "wrong_answer",
                PROV,
            )
        ],
        "negatives": [NegativeRecord("n1", vid, "near_miss_span", "t1", "[1.0, 3.0]", 0.4, PROV)],
        "rejects": [RejectRecord("probe", "zero_bytes", "file is empty", "/x/empty.mp4", None, None, PROV)],
    }
