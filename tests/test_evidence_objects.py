"""Object evidence on 102 hand-labelled real keyframes (tests/data/objects: a music video, an animated film, street
CCTV, a tree, bikes, Big Buck Bunny, a car-phone call), with the stage's default thresholds. The per-class
thresholds were learned on the even-numbered frames (`benchmarks/objects.py`); the odd-numbered ones are held out,
though frames of one clip sit in both halves."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from curation.evidence import EvidenceConfig
from curation.evidence.detector import ObjectDetector, confident_objects

DATA = Path(__file__).parent / "data" / "objects"

pytestmark = pytest.mark.slow


def test_object_labels_on_real_keyframes_are_right() -> None:
    labels = json.loads((DATA / "labels.json").read_text())["frames"]
    assert len(labels) >= 100
    cfg = EvidenceConfig()
    raw = ObjectDetector(cfg.min_score).detect([cv2.imread(str(DATA / lab["file"])) for lab in labels])
    kept = confident_objects(raw, cfg.object_threshold, cfg.class_thresholds, cfg.overlap, cfg.max_box_area)
    totals = {"all": [0, 0, 0], "held-out": [0, 0, 0]}
    wrong = []
    for i, (objs, lab) in enumerate(zip(kept, labels, strict=True)):
        said, truth, maybe = {o.label for o in objs}, set(lab["objects"]), set(lab["maybe"])
        tp, fp, fn = len(said & truth), len(said - truth - maybe), len(truth - said)
        for half in ("all", "held-out") if i % 2 else ("all",):
            totals[half] = [a + b for a, b in zip(totals[half], (tp, fp, fn), strict=True)]
        if fp:
            wrong.append((lab["file"], sorted(said - truth - maybe)))
    for half, (tp, fp, fn) in totals.items():
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        # Measured 2026-12-07: P 1.0 R 0.762 on all, 1.0 / 0.774 held out (the old rule - lone 0.75, a repeat in the
        # shot at 0.4 confirms: P 0.952 R 0.762, 0.953 / 0.774 held out).
        assert precision >= 0.95 and recall >= 0.7, (half, precision, recall, wrong)
    # The mistakes of the old rule on these frames: a car roof as "vase", a shadow as "bird", the rabbit as a "cat".
    said_anywhere = {o.label for objs in kept for o in objs}
    assert not {"vase", "bird", "cat", "cow", "sheep", "tv", "remote"} & said_anywhere
