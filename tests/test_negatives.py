"""Hard negatives: pHash and transcript near-duplicates, near-miss spans, shuffled orders, pair sides."""

from __future__ import annotations

import pytest

from curation.negatives import (
    NegativesConfig,
    NegativesStage,
    TranscriptEmbedder,
    near_duplicate_shots,
    near_miss_spans,
    pair_sides,
    phash_distances,
    shuffled_orders,
    similar_transcript_shots,
)
from curation.phash import hamming
from schemas import CotRecord, TaskRecord
from tests.views import BOX, build_view
from trainers.rewards import kendall_tau, parse_completion, temporal_iou

BASE = "f0e1d2c3b4a59687"


def flip(h: str, bits: list[int]) -> str:
    """`h` with the given bit positions flipped."""
    value = int(h, 16)
    for b in bits:
        value ^= 1 << b
    return f"{value:016x}"


def test_phash_distance_counts_differing_bits():
    assert hamming(BASE, BASE) == 0
    assert hamming(BASE, flip(BASE, [0, 17, 63])) == 3
    assert hamming("0" * 16, "f" * 16) == 64
    hashes = [BASE, flip(BASE, [1, 2]), "0" * 16]
    assert phash_distances(hashes, chunk=2).tolist() == [
        [0, 2, hamming(BASE, "0" * 16)],
        [2, 0, hamming(hashes[1], "0" * 16)],
        [hamming(BASE, "0" * 16), hamming(hashes[1], "0" * 16), 0],
    ]


def test_near_duplicate_shots_by_phash_within_and_across_videos():
    far = "0123456789abcdef"
    a = build_view("va", [
        {"start": 0, "end": 2, "frames": [{"phash": BASE}, {"phash": flip(BASE, [5])}]},  # one shot: no self-pair
        {"start": 2, "end": 4, "frames": [{"phash": far}]},
        {"start": 4, "end": 6, "frames": [{"phash": flip(BASE, [1, 2, 3, 4])}]},
    ])  # fmt: skip
    b = build_view("vb", [{"start": 0, "end": 3, "frames": [{"phash": flip(far, list(range(0, 64, 4)))},
                                                           {"phash": flip(BASE, [60, 61])}]}])  # fmt: skip
    negs = near_duplicate_shots([a, b], max_distance=6)
    pairs = {(n.anchor_id, n.value): n.score for n in negs}
    assert pairs == {
        ("va-s0", "va-s2"): pytest.approx(1 - 4 / 64, abs=1e-4),  # closest keyframes: BASE vs 4 flipped bits
        ("va-s0", "vb-s0"): pytest.approx(1 - 2 / 64, abs=1e-4),
        ("va-s2", "vb-s0"): pytest.approx(1 - 6 / 64, abs=1e-4),
    }
    assert all(n.kind == "near_duplicate_shot" for n in negs)
    assert ("va-s1", "vb-s0") not in pairs  # 16 bits apart


def test_near_miss_spans_have_iou_between_03_and_05():
    cases = [((3.2, 4.6), 12.0), ((0.0, 2.0), 2.5), ((10.0, 12.0), 12.0), ((0.0, 12.0), 12.0), ((5.0, 5.3), 0.0)]
    for truth, duration in cases:
        spans = near_miss_spans(truth, duration, n=4)
        if truth == (0.0, 12.0):
            assert all(s[0] >= 0 and s[1] <= 12.0 for s in spans)  # only shrunk spans fit
        assert spans, truth
        for s in spans:
            assert 0.3 <= temporal_iou(s, truth) <= 0.5
            assert s[0] >= 0 and (duration == 0 or s[1] <= duration)
        assert len(set(spans)) == len(spans)


def test_shuffled_orders_are_one_swap_from_the_truth():
    orders = shuffled_orders("3, 1, 4, 2", n=3)
    assert orders == ["1, 3, 4, 2", "3, 4, 1, 2", "3, 1, 2, 4"]
    assert all(kendall_tau([int(x) for x in o.split(", ")], [3, 1, 4, 2]) == pytest.approx(2 / 3) for o in orders)


def test_similar_transcripts_found_with_minilm():
    speech_a = [
        [
            ("The", 0.1, 0.3),
            ("train", 0.3, 0.6),
            ("leaves", 0.6, 0.9),
            ("the", 0.9, 1.0),
            ("station", 1.0, 1.4),
            ("at", 1.4, 1.5),
            ("noon", 1.5, 1.9),
        ]
    ]
    speech_b = [[("At", 0.2, 0.3), ("noon", 0.3, 0.6), ("the", 0.6, 0.7), ("train", 0.7, 1.0),
                 ("leaves", 1.0, 1.3), ("the", 1.3, 1.4), ("station", 1.4, 1.9)],
                [("Bake", 3.1, 3.4), ("the", 3.4, 3.5), ("bread", 3.5, 3.9), ("for", 3.9, 4.0),
                 ("forty", 4.0, 4.4), ("minutes", 4.4, 4.9)]]  # fmt: skip
    a = build_view("va", [{"start": 0, "end": 2}], speech_a)
    b = build_view("vb", [{"start": 0, "end": 3}, {"start": 3, "end": 5}], speech_b)
    negs = similar_transcript_shots([a, b], TranscriptEmbedder(), threshold=0.8)
    assert [(n.anchor_id, n.value) for n in negs] == [("va-s0", "vb-s0")]
    assert negs[0].score > 0.8 and negs[0].kind == "similar_transcript_shot"


def cot(cot_id: str, task: TaskRecord, text: str, accepted: bool, reason: str | None = None) -> CotRecord:
    return CotRecord(cot_id, task.task_id, task.video_id, "m", text, None, None, 1.0, float(accepted), 1.0, 1.0,
                     1.0, accepted, reason)  # fmt: skip


SPAN = TaskRecord("t-span", "va", "grounding", "span", "When?", "[3.20, 4.60]", span=[3.2, 4.6])
ORDER = TaskRecord("t-order", "va", "ordering", "ordering", "Order?", "2, 3, 1")
GOOD = "<think>It is said at [3.2s] until [4.6s].</think><answer>[3.20, 4.60]</answer>"


def test_stage_mines_task_and_chain_negatives():
    view = build_view("va", [{"start": 0, "end": 6, "frames": [{"objects": [("car", 0.9, BOX)]}]}])
    cots = [
        cot("c-ok", SPAN, GOOD, True),
        cot("c-wrong", SPAN, "<think>x</think><answer>[0, 1]</answer>", False, "wrong_answer"),
        cot("c-dup", SPAN, GOOD, False, "near_duplicate"),
    ]
    negs = NegativesStage(NegativesConfig(transcripts=False)).mine([view], [SPAN, ORDER], cots)
    kinds = {(n.kind, n.anchor_id, n.value) for n in negs}
    assert ("rejected_chain", "t-span", "c-wrong") in kinds
    assert not any(v == "c-dup" for _, _, v in kinds)  # a near-duplicate is a good chain
    spans = [n for n in negs if n.kind == "near_miss_span"]
    assert len(spans) == 2 and all(0.3 <= n.score <= 0.5 for n in spans)
    assert {n.value for n in negs if n.kind == "shuffled_order"} == {"3, 2, 1", "2, 1, 3"}
    assert all(n.provenance and n.provenance.stage == "negatives" for n in negs)


def test_pair_sides_prefer_rejected_chains_then_near_miss_answers():
    negs = NegativesStage(NegativesConfig(transcripts=False)).mine([], [SPAN], [])
    ok = cot("c-ok", SPAN, GOOD, True)
    wrong = cot("c-wrong", SPAN, "<think>Said at the start.</think><answer>[0, 1]</answer>", False, "wrong_answer")
    sides = pair_sides(SPAN, [ok, wrong], negs, max_pairs=2)
    assert [(c.cot_id, r) for c, _, r in sides] == [
        ("c-ok", "rejected_chain:wrong_answer"),
        ("c-ok", "near_miss_answer"),
    ]
    assert sides[0][1] == wrong.draft
    near = parse_completion(sides[1][1])
    assert near.well_formed and 0.3 <= temporal_iou(tuple(map(float, near.answer[1:-1].split(", "))), (3.2, 4.6)) <= 0.5
    assert pair_sides(SPAN, [wrong], negs) == []  # no accepted chain, no pair
