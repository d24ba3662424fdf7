"""Run one perception stage on one video through the cache. Called from Prefect tasks; holds no stage logic."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curation.asr import AsrStage
from curation.evidence import EvidenceStage
from curation.probe import ProbeStage
from curation.shots import ShotsStage
from curation.stage import Rejected, Stage
from flows.cache import Outcome, StageCache
from flows.config import CurateConfig
from flows.workers import StagePool
from schemas import VideoRecord, from_arrow, to_arrow

log = logging.getLogger(__name__)

PERCEPTION_STAGES = ("probe", "shots", "asr", "evidence")
STAGE_CLASSES: dict[str, type[Stage[Any, Any, Any]]] = {
    "probe": ProbeStage,
    "shots": ShotsStage,
    "asr": AsrStage,
    "evidence": EvidenceStage,
}
# Which tables each stage writes, in the order its result tuple holds them.
STAGE_TABLES: dict[str, tuple[str, ...]] = {
    "probe": ("videos",),
    "shots": ("shots", "frames"),
    "asr": ("segments", "words"),
    "evidence": ("evidence",),
}
# Rejections caused by the run rather than the video are not cached, so a re-run tries again.
TRANSIENT = {"stage_error", "timeout", "cache_error"}


@dataclass
class RunContext:
    dataset: Path
    config: CurateConfig
    cache: StageCache
    pool: StagePool

    def config_hash(self, stage: str) -> str:
        return getattr(self.config, stage).config_hash()

    def stage(self, name: str) -> Stage[Any, Any, Any]:
        return self.pool.get(STAGE_CLASSES[name], getattr(self.config, name))

    def cache_key(self, stage: str, video_id: str) -> str:
        """Evidence depends on the keyframes, so its key includes the shots config as well."""
        if stage == "evidence":
            return f"{video_id}-{self.config_hash('shots')}"
        return video_id


def probe_key(path: Path) -> str:
    """The probe cache key of a file: its resolved path, size and mtime (a file is re-probed when any changes)."""
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:32]


def _call(stage: Stage[Any, Any, Any], item: Any) -> Any:
    try:
        return stage.process(item)
    except Exception as e:  # a stage bug must cost one video, not the run
        log.exception("%s failed unexpectedly", stage.name)
        return Rejected("stage_error", f"{type(e).__name__}: {e}")


def probe_one(path: Path, ctx: RunContext) -> tuple[Outcome, VideoRecord | None]:
    """Probe one file (cached by path, size and mtime)."""
    h = ctx.config_hash("probe")
    try:
        key = probe_key(path)
    except OSError as e:
        return Outcome("probe", str(path), "rejected", "unreadable", str(e)), None
    hit = ctx.cache.get("probe", h, key)
    if hit is not None:
        video = None
        if hit.ok:
            video = from_arrow("videos", ctx.cache.table("probe", h, key, "videos"))[0]
        return hit, video
    t0 = time.perf_counter()
    result = _call(ctx.stage("probe"), path)
    seconds = time.perf_counter() - t0
    if isinstance(result, Rejected):
        out = Outcome("probe", key, "rejected", result.reason, result.detail, seconds)
        if result.reason not in TRANSIENT:
            ctx.cache.put("probe", h, out, {})
        return out, None
    out = Outcome("probe", key, "ok", seconds=seconds, stats={"duration": result.duration or 0.0})
    if not ctx.cache.put("probe", h, out, {"videos": to_arrow("videos", [result])}):
        return _uncached(out), None
    return out, result


def perceive_one(stage: str, video: VideoRecord, ctx: RunContext) -> Outcome:
    """Run `stage` (shots, asr or evidence) on one probed video, or return its cached outcome."""
    h = ctx.config_hash(stage)
    key = ctx.cache_key(stage, video.video_id)
    hit = ctx.cache.get(stage, h, key)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    item: Any = video
    if stage == "evidence":
        sh = ctx.config_hash("shots")
        item = from_arrow("frames", ctx.cache.table("shots", sh, video.video_id, "frames"))
    result = _call(ctx.stage(stage), item)
    seconds = time.perf_counter() - t0
    if isinstance(result, Rejected):
        out = Outcome(stage, key, "rejected", result.reason, result.detail, seconds)
        if result.reason not in TRANSIENT:
            ctx.cache.put(stage, h, out, {})
        return out
    parts = result if isinstance(result, tuple) else (result,)
    tables: dict[str, pa.Table] = {
        name: to_arrow(name, list(rows)) for name, rows in zip(STAGE_TABLES[stage], parts, strict=True)
    }
    stats: dict[str, float] = {}
    if stage == "asr" and "segments" in tables:
        seg = tables["segments"]
        stats["speech_seconds"] = float(pc.sum(pc.subtract(seg["end"], seg["start"])).as_py() or 0.0)
    out = Outcome(stage, key, "ok", seconds=seconds, counts={n: t.num_rows for n, t in tables.items()}, stats=stats)
    return out if ctx.cache.put(stage, h, out, tables) else _uncached(out)


def _uncached(out: Outcome) -> Outcome:
    """A result the cache could not store is lost to publishing (which reads the cache): a transient reject."""
    return Outcome(out.stage, out.key, "rejected", "cache_error", "the stage cache could not store the result",
                   out.seconds)  # fmt: skip
