"""EvidenceStage: what can be seen in one video's keyframes, from the backend the config names."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from curation.evidence.base import BackendError, EvidenceBackend, brightness, decode_jpeg, motion
from curation.evidence.thresholds import LEARNED
from curation.stage import Rejected, Stage, StageConfig, TimeLimit
from schemas import EvidenceRecord, FrameRecord
from trainers.vocab import COCO_LABELS

log = logging.getLogger(__name__)


class EvidenceConfig(StageConfig):
    """Backend choice and its options. Brightness and motion are measured for every backend."""

    execution_only: ClassVar[frozenset[str]] = frozenset(
        {"threads", "endpoint_url", "api_key_env", "timeout", "retries"}
    )

    backend: Literal["classic", "vlm-endpoint", "vlm-local"] = "classic"
    # classic
    min_score: float = Field(0.4, ge=0, le=1, description="classic: detector score below which nothing is considered")
    # Classes the labelled real keyframes say nothing about: the SSD's wrong labels on real footage scored up to 0.95
    # (a screen's interface as "microwave" at 0.87, a car roof as "vase" at 0.82 on a small keyframe).
    object_threshold: float = Field(
        0.9, ge=0, le=1, description="classic: detector score a label without its own threshold needs"
    )
    max_box_area: float = Field(
        0.9, gt=0, le=1, description="classic: largest frame share a box of a class without its own threshold may cover"
    )
    # Learned on hand-labelled real keyframes (curation/evidence/thresholds.py), plus the vehicles this SSD is
    # strong on (highest COCO AP) that the labelled frames show too rarely to learn from.
    class_thresholds: dict[str, float] = Field(
        default_factory=lambda: {"bicycle": 0.5, "motorcycle": 0.5, "bus": 0.5, "truck": 0.5, **LEARNED},
        description="classic: per-class score thresholds (COCO label -> score)",
    )
    overlap: float = Field(
        0.5, gt=0, le=1, description="classic: IoU at which boxes of different labels are one thing (best kept)"
    )
    ocr: bool = Field(True, description="classic: read on-screen text")
    ocr_engine: Literal["rapidocr", "tesseract"] = Field(
        "rapidocr", description="classic: PP-OCRv6 (RapidOCR, ONNX) on whole keyframes, or tesseract on text regions"
    )
    ocr_min_score: float = Field(0.8, ge=0, le=1, description="classic, rapidocr: recogniser score a line needs")
    ocr_det_side: int = Field(960, ge=160, description="classic, rapidocr: longest side the text detector sees (px)")
    ocr_min_conf: float = Field(60.0, ge=0, le=100, description="classic, tesseract: word confidence a word needs")
    ocr_anchor_conf: float = Field(
        80.0, ge=0, le=100, description="classic, tesseract: a line needs a dictionary word or number this sure"
    )
    faces: bool = Field(True, description="classic: detect faces (CenterFace)")
    face_threshold: float = Field(0.5, ge=0, le=1, description="classic: CenterFace score a face needs")
    face_width: int = Field(320, ge=64, description="classic: keyframe width CenterFace runs at (px)")
    # One: on the shared 2-core box (load 6-9), two threads took 8% more CPU and 9% more wall time (median of 6
    # alternating passes over 64 keyframes); more threads pay only on idle cores. tesseract always runs on one.
    threads: int = Field(1, ge=1, description="classic: OpenCV DNN threads (tesseract runs on one)")
    # vlm-endpoint
    endpoint_url: str = Field("http://127.0.0.1:8000/v1", description="vlm-endpoint: OpenAI-compatible base URL")
    endpoint_model: str = Field("Qwen/Qwen2.5-VL-7B-Instruct", description="vlm-endpoint: served model name")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="vlm-endpoint: env var holding the API key")
    timeout: float = Field(60.0, gt=0, description="vlm-endpoint: seconds per request")
    retries: int = Field(2, ge=0, description="vlm-endpoint: retries on timeouts and 5xx")
    max_tokens: int = Field(128, ge=1, description="vlm-*: caption length limit in tokens")
    # vlm-local
    local_path: str | None = Field(None, description="vlm-local: transformers model directory")
    device: str = Field("auto", description="vlm-local: cuda, cpu or auto")


def make_backend(cfg: EvidenceConfig) -> EvidenceBackend:
    """The backend object the config names (not yet set up)."""
    if cfg.backend == "classic":
        from curation.evidence.classic import ClassicBackend
        from curation.evidence.ocr import OcrConfig

        unknown = sorted(set(cfg.class_thresholds) - set(COCO_LABELS))
        if unknown:
            raise ValueError(f"evidence.class_thresholds: not COCO labels: {unknown}")
        return ClassicBackend(
            cfg.min_score,
            cfg.ocr,
            cfg.threads,
            object_threshold=cfg.object_threshold,
            class_thresholds=cfg.class_thresholds,
            overlap=cfg.overlap,
            max_box_area=cfg.max_box_area,
            ocr_config=OcrConfig(min_word_conf=cfg.ocr_min_conf, anchor_conf=cfg.ocr_anchor_conf),
            faces=cfg.faces,
            face_threshold=cfg.face_threshold,
            face_width=cfg.face_width,
            ocr_engine=cfg.ocr_engine,
            ocr_min_score=cfg.ocr_min_score,
            ocr_det_side=cfg.ocr_det_side,
        )
    if cfg.backend == "vlm-endpoint":
        from curation.evidence.vlm_endpoint import EndpointBackend

        return EndpointBackend(
            cfg.endpoint_url, cfg.endpoint_model, cfg.api_key_env, cfg.timeout, cfg.retries, cfg.max_tokens
        )
    if not cfg.local_path:
        raise ValueError("evidence.local_path: required when evidence.backend is vlm-local")
    from curation.evidence.vlm_local import LocalVLMBackend

    return LocalVLMBackend(cfg.local_path, cfg.device, cfg.max_tokens)


class EvidenceStage(Stage[EvidenceConfig, list[FrameRecord], list[EvidenceRecord]]):
    """One EvidenceRecord per keyframe of a video (frames in time order)."""

    name = "evidence"
    timeout = TimeLimit(1800.0, "to tag one video's keyframes")
    Config = EvidenceConfig
    # 5: per-class thresholds learned on labelled real keyframes, a repeat in the shot no longer confirms a label;
    # PP-OCRv6 (RapidOCR) reads on-screen text by default; tesseract keeps numbers glued to symbols;
    # 4: colours named only where clear (Lab chroma, hue gaps, no fringe of a larger confusable region);
    # 3: whole-frame boxes of weak classes dropped, lone detections need 0.75; 2: confident evidence only (label
    # stability, per-class thresholds, OCR word checks), CenterFace
    version = 5
    per_video = True
    reads = ("frames",)
    writes = ("evidence",)
    needs = ("shots",)

    @classmethod
    def input_for(cls, video: Any, upstream: Callable[[str, str], Any]) -> list[FrameRecord]:
        """The video's keyframes, as the shots stage produced them."""
        return list(upstream("shots", "frames"))

    def __init__(self, config: EvidenceConfig | None = None) -> None:
        super().__init__(config)
        self.backend = make_backend(self.config)

    def setup(self) -> None:
        self.backend.setup()

    def models(self) -> list[str]:
        return self.backend.models()

    def process(self, item: list[FrameRecord]) -> list[EvidenceRecord] | Rejected:
        self.ensure_setup()
        frames = sorted(item, key=lambda f: f.time)
        images: list[np.ndarray] = []
        for f in frames:
            img = decode_jpeg(f.jpeg)
            if img is None:
                return Rejected("bad_keyframe", f"keyframe {f.frame_id} is not a decodable JPEG")
            images.append(img)
        prov = self.provenance()
        rows: list[EvidenceRecord] = []
        prev: np.ndarray | None = None
        for f, img in zip(frames, images, strict=True):
            rows.append(
                EvidenceRecord(
                    f.video_id,
                    f.frame_id,
                    f.shot_id,
                    f.time,
                    self.backend.name,
                    brightness=brightness(img),
                    motion=motion(prev, img),
                    provenance=prov,
                )
            )
            prev = img
        try:
            self.backend.describe(frames, images, rows)
        except BackendError as e:
            return Rejected(e.reason, e.detail)
        return rows
