"""Perception benchmark: shots + keyframes + hashes vs a bare decode and vs the scenedetect CLI; ASR speed; memory.

    .venv/bin/python benchmarks/perception.py [--repeats 5] [--no-long] [--out benchmarks/results/perception.json]
    .venv/bin/python benchmarks/perception.py --real-only [--no-transnet]   # only item 6, to perception_real.json

Everything is measured side by side in one run, on every sample clip (`curation.samples`) plus a 60 s 720p clip
with nine exact hard cuts that is generated into a temp dir (so totals are not dominated by tiny files):

1. perception (`ShotsStage.process`: one decode at `downscale_width`, shot and fade detection, keyframe JPEGs and
   perceptual hashes) against `decode_only` at the same width: goal <= 1.3x;
2. against the PySceneDetect command line, `scenedetect -i FILE detect-adaptive list-scenes -n` (writes no files;
   run in an empty temp dir to be sure), and the same detector through its Python API (`scenedetect.detect`, no
   interpreter start-up): goal: ours faster, although ours also makes keyframes and hashes;
3. ASR real-time factor (transcribe seconds / audio seconds) of the embedded tiny.en on the clips with speech;
4. peak memory of the perception pass, each in a fresh process: ru_maxrss (whole process, native buffers included)
   and tracemalloc (Python and numpy allocations);
5. shot-boundary precision/recall/F1 of ours and of the CLI against the sidecar truth: +-2 frames for cuts on exact
   (generated) sidecars, +-0.5 s for fades, +-0.3 s for the approximate cuts of real clips;
6. real footage side by side: on every real clip the project has (curation.footage.real_clips) and on a 65 s 720p
   clip built from them with cross-fades, a fade through black, flashes, lighting changes and camera-like motion
   (curation.footage.build_hard_clip), the cuts of the scenedetect CLI and ours (how many on the same frame), both
   wall times, TransNetV2's cuts and time (clips up to 70 s), and F1 against the hard clip's construction truth.

Timings are the best (and, beside them, the median) of `--repeats` interleaved passes; the methods take turns going
first, so load from other processes hits all of them alike. The machine and its load average are recorded with the
results: on a shared machine, read the best and the median together.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import multiprocessing
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track
from rich.table import Table

from curation.asr import AsrStage
from curation.decode import decode_only
from curation.probe import ProbeConfig, ProbeStage
from curation.samples import Sidecar, build_samples
from curation.shots import ShotsConfig, ShotsStage
from curation.stage import Rejected
from schemas import FrameRecord, ShotRecord, VideoRecord
from trainers.embedded import cache_root

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from trainers.wer import wer  # noqa: E402

log = logging.getLogger("benchmarks.perception")

SCENEDETECT = str(Path(sys.executable).with_name("scenedetect"))
SPEECH_CLIPS = ("cuts_narrated.mp4", "librivox_reading.mp4", "Megamind.avi")
CUT_FRAMES = 2  # tolerance on exact sidecars, in frames
FADE_TOLERANCE = 0.5  # seconds, around the centre of a fade (the acceptance bound)
APPROX_TOLERANCE = 0.3  # seconds, for real clips whose cut times were read by eye
GOAL_DECODE_RATIO = 1.3
WIDTH = ShotsStage().config.downscale_width  # the detection width: decode-only runs at the same one

# The long clip: ten 720p sources with hard cuts between them, light temporal grain (real footage is never
# noise-free, and grain makes the decode cost realistic). Cuts fall at the running sums of the durations.
LONG_SIZE, LONG_RATE = "1280x720", 25
LONG_SOURCES: list[tuple[str, float]] = [
    ("testsrc2", 7),
    ("smptehdbars", 5),
    ("mandelbrot", 8),
    ("life=mold=10:ratio=0.2:death_color=#203040:life_color=#e0c040", 4),
    ("cellauto=rule=110:scroll=1", 6),
    ("gradients=speed=0.05", 7),
    ("sierpinski", 5),
    ("testsrc", 6),
    ("mandelbrot=start_scale=0.5:outer=normalized_iteration_count", 8),
    ("colorchart", 4),
]


@dataclass
class Clip:
    """One benchmark input and its ground truth."""

    name: str
    path: Path
    record: VideoRecord
    cuts: list[float]
    fade_centres: list[float]
    exact: bool
    speech_text: str = ""

    @property
    def fps(self) -> float:
        return self.record.fps or 25.0

    def truth(self) -> list[tuple[float, float]]:
        """(time, tolerance) of every true boundary."""
        cut_tol = CUT_FRAMES / self.fps if self.exact else APPROX_TOLERANCE
        return [(t, cut_tol) for t in self.cuts] + [(t, FADE_TOLERANCE) for t in self.fade_centres]


@dataclass
class Score:
    """Boundary matching counts; precision/recall/F1 are None where undefined (nothing to find or nothing found)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, Any]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        # 2TP / (2TP + FP + FN); a clip with no boundary where none is found counts as perfect.
        f1 = 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 1.0
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": _r(p), "recall": _r(r), "f1": _r(f1)}


def match(pred: list[float], truth: list[tuple[float, float]]) -> Score:
    """One-to-one matching, closest pairs first, each true boundary within its own tolerance."""
    pairs = sorted(
        (abs(p - t), i, j) for i, p in enumerate(pred) for j, (t, tol) in enumerate(truth) if abs(p - t) <= tol + 1e-6
    )
    used_p: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    tp = len(used_p)
    return Score(tp, len(pred) - tp, len(truth) - tp)


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


# ---- inputs ---------------------------------------------------------------------------------------------------


def make_long_clip(out: Path) -> Sidecar:
    """Encode the 60 s 720p hard-cut clip with ffmpeg lavfi; returns its truth (exact cut times)."""
    args: list[str] = []
    chain = ""
    for i, (src, seconds) in enumerate(LONG_SOURCES):
        name, _, opts = src.partition("=")
        spec = f"{name}=size={LONG_SIZE}:rate={LONG_RATE}" + (f":{opts}" if opts else "")
        if name == "colorchart":  # a fixed-size chart: scaled up to the clip's size
            spec = f"colorchart=rate={LONG_RATE}" + (f":{opts}" if opts else "") + f",scale={LONG_SIZE}"
        args += ["-f", "lavfi", "-i", f"{spec},trim=duration={seconds}"]
        chain += f"[{i}:v]setsar=1,format=yuv420p[v{i}];"
    chain += "".join(f"[v{i}]" for i in range(len(LONG_SOURCES)))
    chain += f"concat=n={len(LONG_SOURCES)}:v=1:a=0,noise=alls=4:allf=t[out]"
    cmd = ["ffmpeg", "-v", "error", "-y", *args, "-filter_complex", chain, "-map", "[out]"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    ends = list(itertools.accumulate(seconds for _, seconds in LONG_SOURCES))
    return Sidecar(out.name, "generated", "CC0", ends[-1], False, cuts=ends[:-1], notes="benchmark clip")


def load_clips(tmp: Path, long_clip: bool) -> list[Clip]:
    """Every sample clip with its sidecar truth (built if missing), plus the long generated clip."""
    samples_dir = cache_root() / "samples"
    entries = [(samples_dir / sc.file, sc) for sc in build_samples(samples_dir) if sc.has_video]
    if long_clip:
        log.info("encoding the 60 s 720p clip (about a minute on 2 cores)")
        path = tmp / "long_720p_cuts.mp4"
        entries.append((path, make_long_clip(path)))
    # tiny.mp4 (10 frames) is below the pipeline's minimum duration; the benchmark still times it.
    probe = ProbeStage(ProbeConfig.model_validate({"min_duration": 0}))
    clips = []
    for path, sc in entries:
        record = probe.process(path)
        if isinstance(record, Rejected):
            log.warning("skipping %s: probe rejected it (%s)", path.name, record.reason)
            continue
        fades = sorted((f.start + f.end) / 2 for f in sc.fades)
        text = " ".join(span.text for span in sc.speech)
        clips.append(Clip(path.name, path, record, sorted(sc.cuts), fades, sc.exact, text))
    return sorted(clips, key=lambda c: c.path.stat().st_size)


# ---- the timed methods ----------------------------------------------------------------------------------------

_ROW = re.compile(r"^\s*\|\s*\d+\s*\|\s*\d+\s*\|\s*(\d+):(\d+):([\d.]+)\s*\|", re.M)
_PROCESSED = re.compile(r"Processed (\d+) frames in [\d.]+ seconds \(average ([\d.]+) FPS\)")


@dataclass
class CliRun:
    cuts: list[float]
    detect_s: float | None  # the CLI's own report of its detection loop (start-up excluded)


def run_cli(path: Path, workdir: Path) -> CliRun:
    """`scenedetect ... detect-adaptive list-scenes -n`: prints the scene table, writes nothing."""
    proc = subprocess.run(
        [SCENEDETECT, "-i", str(path), "detect-adaptive", "list-scenes", "-n"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    starts = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in _ROW.findall(proc.stdout)]
    done = _PROCESSED.search(proc.stdout)
    detect_s = int(done.group(1)) / float(done.group(2)) if done and float(done.group(2)) else None
    return CliRun(starts[1:], detect_s)


def run_api(path: Path) -> list[float]:
    """The same detector through PySceneDetect's one-call API (opencv backend, auto downscale, as the CLI)."""
    from scenedetect import AdaptiveDetector, detect

    return [start.seconds for start, _ in detect(str(path), AdaptiveDetector())[1:]]


@dataclass
class Timings:
    """Seconds of every pass per clip and method (and the CLI's own loop time), with each method's last output."""

    seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def best(self, clip: str, method: str) -> float:
        return min(self.seconds[clip][method])

    def median(self, clip: str, method: str) -> float:
        return statistics.median(self.seconds[clip][method])


def time_all(clips: list[Clip], repeats: int, workdir: Path) -> Timings:
    shots = ShotsStage()
    width = shots.config.downscale_width
    methods: dict[str, Callable[[Clip], Any]] = {
        "decode": lambda c: decode_only(c.path, width=width),
        "ours": lambda c: shots.process(c.record),
        "cli": lambda c: run_cli(c.path, workdir),
        "api": lambda c: run_api(c.path),
    }
    for c in clips:  # warm the page cache and the libraries' one-off set-up before anything is timed
        decode_only(c.path, width=width)
    run_api(clips[0].path)
    shots.process(clips[0].record)
    out = Timings()
    names = list(methods)
    work = [(rep, c) for rep in range(repeats) for c in clips]
    for rep, c in track(work, description="timing", console=Console(stderr=True)):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for m in order:
            t0 = time.perf_counter()
            result = methods[m](c)
            dt = time.perf_counter() - t0
            out.seconds.setdefault(c.name, {}).setdefault(m, []).append(dt)
            out.outputs.setdefault(c.name, {})[m] = result
            if isinstance(result, CliRun) and result.detect_s is not None:
                out.seconds[c.name].setdefault("cli_loop", []).append(result.detect_s)
    return out


# ---- real footage, side by side with scenedetect's CLI ----------------------------------------------------------

REAL_TOLERANCE = 0.15  # seconds, cuts of the hard clip (sources re-timed to 25 fps move their cuts by a frame or two)
TRANSNET_MAX_SECONDS = 70.0  # transnetv2 is timed only on clips up to this long (it runs at tens of frames/s)


def _one_frame_matches(a: list[float], b: list[float], frame: float) -> int:
    return match(a, [(t, frame + 1e-6) for t in b]).tp


def real_side_by_side(repeats: int, workdir: Path, transnet: bool) -> dict[str, Any]:
    """Per real clip (and the hard 720p clip): scenedetect CLI cuts and wall time, ours (adaptive, with keyframes
    and hashes) and, where its weights are installed, transnetv2; agreement within one frame; F1 against the hard
    clip's construction truth."""
    from curation.footage import build_hard_clip, real_clips
    from curation.samples import opencv_examples
    from curation.transnet import weights_path

    samples = cache_root() / "samples"
    build_samples(samples)
    data = opencv_examples()
    paths = real_clips(samples, data)
    hard = None
    if (data / "vtest.avi").exists() and (samples / "Megamind.avi").exists():
        (cache_root() / "hard_footage").mkdir(parents=True, exist_ok=True)
        hard = build_hard_clip(samples, data, cache_root() / "hard_footage" / "hard720.mp4")
        paths.append(hard.path)
    probe = ProbeStage(ProbeConfig.model_validate({"min_duration": 0}))
    adaptive = ShotsStage()
    tn = None
    if transnet and weights_path().exists():
        tn = ShotsStage(ShotsConfig(detector="transnetv2"))
        tn.setup()
    rows: dict[str, Any] = {}
    for path in track(paths, description="real clips", console=Console(stderr=True)):
        record = probe.process(path)
        if isinstance(record, Rejected):
            continue
        frame = 1 / (record.fps or 25.0)
        cli_s, ours_s = [], []
        cli: CliRun | None = None
        found: tuple[list[ShotRecord], list[FrameRecord]] | Rejected | None = None
        for rep in range(repeats):
            for method in ("cli", "ours") if rep % 2 == 0 else ("ours", "cli"):
                t0 = time.perf_counter()
                if method == "cli":
                    cli = run_cli(path, workdir)
                    cli_s.append(time.perf_counter() - t0)
                else:
                    found = adaptive.process(record)
                    ours_s.append(time.perf_counter() - t0)
        assert cli is not None and found is not None and not isinstance(found, Rejected)
        shots = found[0][1:]
        ours = [s.start for s in shots]
        ours_cuts = [s.start for s in shots if s.transition_in == "cut"]
        row: dict[str, Any] = {
            "frames_s": _r(frame, 4),
            "cli": [_r(t, 3) for t in cli.cuts],
            "ours": [_r(t, 3) for t in ours],
            "ours_kinds": [s.transition_in for s in shots],
            "cuts_equal_within_1_frame": _one_frame_matches(ours_cuts, cli.cuts, frame),
            "cli_s": _r(min(cli_s)),
            "cli_loop_s": _r(cli.detect_s),
            "ours_s": _r(min(ours_s)),
            "ours_over_cli": _r(min(ours_s) / min(cli_s)),
            "keyframes": len(found[1]),
        }
        truth = None
        if hard is not None and path == hard.path:
            truth = [(t, REAL_TOLERANCE) for t in hard.cuts] + [((a + b) / 2, FADE_TOLERANCE) for a, b in hard.fades]
            row["truth"] = hard.truth()
            row["f1_ours"] = match(ours, truth).as_dict()
            row["f1_cli"] = match(cli.cuts, truth).as_dict()
        if tn is not None and (record.duration or 0.0) <= TRANSNET_MAX_SECONDS:
            t0 = time.perf_counter()
            got = tn.process(record)
            row["transnetv2_s"] = _r(time.perf_counter() - t0)
            assert not isinstance(got, Rejected)
            row["transnetv2"] = [_r(s.start, 3) for s in got[0][1:]]
            if truth is not None:
                row["f1_transnetv2"] = match([s.start for s in got[0][1:]], truth).as_dict()
        rows[path.name] = row
        log.info("%s: %s", path.name, row)
    return rows


def real_table(rows: dict[str, Any]) -> Table:
    t = _table(
        "Real footage: ours (adaptive) vs scenedetect detect-adaptive, and transnetv2",
        ["clip", "cli cuts", "ours", "same frame", "cli s", "ours s", "ours/cli", "tnv2", "tnv2 s", "F1 cli/ours/tnv2"],
        "ours: ShotsStage.process (cuts, fades, keyframe JPEGs, hashes) in this process; cli: the scenedetect "
        "command's wall time (start-up included); same frame: ours' cuts equal to the CLI's within one frame; F1 "
        "only where the truth is known (the hard clip)",
    )
    for name, r in rows.items():
        f1 = "/".join(_fmt((r.get(k) or {}).get("f1")) for k in ("f1_cli", "f1_ours", "f1_transnetv2"))
        tn = r.get("transnetv2")
        t.add_row(
            name,
            str(len(r["cli"])),
            str(len(r["ours"])),
            str(r["cuts_equal_within_1_frame"]),
            _fmt(r["cli_s"]),
            _fmt(r["ours_s"]),
            _fmt(r["ours_over_cli"]),
            "" if tn is None else str(len(tn)),
            _fmt(r.get("transnetv2_s")),
            f1 if "f1_ours" in r else "",
        )
    return t


# ---- memory, each in a fresh process --------------------------------------------------------------------------


def _status_mib(key: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def _reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (VmHWM), so the next reading is the peak of one file alone."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _memory_child(mode: str, paths: list[str], trace: bool) -> dict[str, Any]:
    """Runs in a spawned process: the peak RSS of each file's pass (and optionally its tracemalloc peak)."""
    probe = ProbeStage(ProbeConfig.model_validate({"min_duration": 0}))
    shots = ShotsStage()
    records = [probe.process(Path(p)) for p in paths]
    base = _status_mib("VmRSS")
    per_file = {}
    if trace:
        tracemalloc.start()
    resets = True
    for path, rec in zip(paths, records, strict=True):
        resets &= _reset_peak_rss()
        if trace:
            tracemalloc.reset_peak()
        if mode == "decode":
            decode_only(path, width=shots.config.downscale_width)
        else:
            assert isinstance(rec, VideoRecord)
            shots.process(rec)
        row = {"peak_rss_mib": _status_mib("VmHWM")}
        if trace:
            row["python_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        per_file[Path(path).name] = {k: round(v, 1) for k, v in row.items()}
    return {
        "rss_after_imports_mib": round(base, 1),
        # Linux carries the parent's RSS over exec into ru_maxrss, so in a spawned child it is at least the
        # benchmark process's own size: kept for the record, but VmHWM per file is the figure to read.
        "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_reset_per_file": resets,
        "per_file": per_file,
    }


def measure_memory(clips: list[Clip]) -> dict[str, Any]:
    """Per-file peaks of perception and of decode-only, each mode in a fresh process (ru_maxrss never goes down).

    The RSS high-water mark is reset before each file where Linux allows it, so each row is that file's own peak,
    imports and libraries included; the difference between the two modes is what perception adds to a decode.
    """
    paths = [str(c.path) for c in clips]
    ctx = multiprocessing.get_context("spawn")
    result = {}
    for key, mode, trace in [
        ("perception", "ours", False),
        ("decode_only", "decode", False),
        ("perception_tracemalloc", "ours", True),
    ]:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            result[key] = pool.submit(_memory_child, mode, paths, trace).result()
    return result


# ---- ASR --------------------------------------------------------------------------------------------------------


def measure_asr(clips: list[Clip], repeats: int) -> dict[str, Any]:
    speech = [c for c in clips if c.name in SPEECH_CLIPS]
    asr = AsrStage()
    t0 = time.perf_counter()
    asr.ensure_setup()
    load_s = time.perf_counter() - t0
    asr.transcribe(speech[0].path)  # warm-up: first call pays one-off allocations
    rows: dict[str, Any] = {}
    total_s = total_audio = 0.0
    for c in track(speech, description="ASR", console=Console(stderr=True)):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            tr = asr.transcribe(c.path)
            times.append(time.perf_counter() - t0)
        text = " ".join(s.text for s in tr.segments)
        best = min(times)
        total_s += best
        total_audio += tr.duration
        rows[c.name] = {
            "audio_s": round(tr.duration, 2),
            "best_s": round(best, 3),
            "rtf": round(best / tr.duration, 4),
            "words": sum(len(s.words) for s in tr.segments),
            "wer": round(wer(c.speech_text, text), 3) if c.speech_text else None,
            "text": text,
        }
    cfg = asr.config
    return {
        "model": asr.models()[0],
        "config": {
            "compute_type": cfg.compute_type,
            "cpu_threads": cfg.cpu_threads,
            "beam_size": cfg.beam_size,
            "vad_filter": cfg.vad_filter,
            "word_timestamps": cfg.word_timestamps,
        },
        "model_load_s": round(load_s, 2),
        "per_file": rows,
        "total": {
            "audio_s": round(total_audio, 2),
            "best_s": round(total_s, 3),
            "rtf": round(total_s / total_audio, 4) if total_audio else None,
        },
    }


# ---- report -----------------------------------------------------------------------------------------------------

METHODS = ("decode", "ours", "cli", "api")


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), platform.processor())
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "packages": {p: version(p) for p in ("av", "scenedetect", "faster-whisper", "ctranslate2", "numpy")},
    }


def _ratios(best: dict[str, float], prefix: str = "") -> dict[str, float]:
    return {f"{prefix}ours_over_{m}": round(best["ours"] / best[m], 3) for m in ("decode", "cli", "api")}


def summarise(clips: list[Clip], t: Timings, frames: dict[str, int]) -> dict[str, Any]:
    """Per-clip timings, ratios and boundary scores, and their totals (sums of the per-clip best times).

    Ratios of medians are kept beside those of bests: on a shared machine a lucky quiet moment can flatter one
    method's best, and the two together show how much the load moved the numbers.
    """
    rows: dict[str, Any] = {}
    sums = {m: 0.0 for m in METHODS}
    sums_median = dict(sums)
    sums_samples = dict(sums)
    cli_detect = 0.0
    scores: dict[str, dict[str, Score]] = {g: {"ours": Score(), "cli": Score()} for g in ("all", "exact", "approx")}
    for c in clips:
        best = {m: t.best(c.name, m) for m in METHODS}
        median = {m: t.median(c.name, m) for m in METHODS}
        for m in METHODS:
            sums[m] += best[m]
            sums_median[m] += median[m]
            if not c.name.startswith("long_"):
                sums_samples[m] += best[m]
        shots, keyframes = t.outputs[c.name]["ours"]
        cli: CliRun = t.outputs[c.name]["cli"]
        cli_loop = min(t.seconds[c.name].get("cli_loop", [0.0]))
        cli_detect += cli_loop
        ours_b = [s.start for s in shots[1:]]
        got = {"ours": match(ours_b, c.truth()), "cli": match(cli.cuts, c.truth())}
        for who, sc in got.items():
            scores["all"][who] += sc
            scores["exact" if c.exact else "approx"][who] += sc
        rows[c.name] = {
            "size": f"{c.record.width}x{c.record.height}",
            "duration_s": _r(c.record.duration, 2),
            "frames": frames[c.name],
            "best_s": {m: round(v, 4) for m, v in best.items()},
            "all_s": {m: [round(x, 4) for x in v] for m, v in t.seconds[c.name].items()},
            "cli_detect_s": round(cli_loop, 4),
            **_ratios(best),
            "median_s": {m: round(v, 4) for m, v in median.items()},
            **_ratios(median, "median_"),
            "decode_fps": round(frames[c.name] / best["decode"], 1),
            "ours_fps": round(frames[c.name] / best["ours"], 1),
            "shots": len(shots),
            "keyframes": len(keyframes),
            "exact_truth": c.exact,
            "truth_boundaries": [round(x, 3) for x, _ in c.truth()],
            "ours_boundaries": [round(x, 3) for x in ours_b],
            "cli_boundaries": [round(x, 3) for x in cli.cuts],
            "accuracy_ours": got["ours"].as_dict(),
            "accuracy_cli": got["cli"].as_dict(),
        }
    total = {"best_s": {m: round(v, 3) for m, v in sums.items()}, "cli_detect_s": round(cli_detect, 3)}
    samples = {"best_s": {m: round(v, 3) for m, v in sums_samples.items()}, **_ratios(sums_samples)}
    return {
        "per_file": rows,
        "total": total | _ratios(sums) | {"frames": sum(frames.values())},
        "total_median": {"median_s": {m: round(v, 3) for m, v in sums_median.items()}} | _ratios(sums_median),
        "samples_only": samples,
        "accuracy": {g: {who: sc.as_dict() for who, sc in d.items()} for g, d in scores.items()},
    }


def _table(title: str, columns: list[str], caption: str | None = None) -> Table:
    table = Table(title=title, caption=caption)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    return table


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def speed_table(shots: dict[str, Any]) -> Table:
    table = _table(
        "Perception vs decode-only and vs scenedetect (best seconds)",
        ["clip", "size", "frames", "decode", "ours", "ours/dec", "(median)"]
        + ["cli", "cli_loop", "api", "ours/cli", "ours/api"],
        "(median): ours/dec from median times; decode: decode_only at the same width; ours: shots + keyframe JPEGs "
        "+ hashes; cli: the scenedetect command, wall time with interpreter start-up; cli_loop: the detection time "
        "the CLI reports itself; api: scenedetect.detect() in this process",
    )

    def row(name: str, r: dict[str, Any], size: str = "", cli_loop: float | None = None) -> None:
        b = r["best_s"]
        cells = [_fmt(b["decode"], ".3f"), _fmt(b["ours"], ".3f"), _fmt(r["ours_over_decode"])]
        cells += [_fmt(r.get("median_ours_over_decode")), _fmt(b["cli"], ".3f"), _fmt(cli_loop, ".3f")]
        cells += [_fmt(b["api"], ".3f"), _fmt(r["ours_over_cli"]), _fmt(r["ours_over_api"])]
        table.add_row(name, size, str(r["frames"]), *cells)

    for name, r in shots["per_file"].items():
        row(name, r, r["size"], r["cli_detect_s"])
    table.add_section()
    total, med = shots["total"], shots["total_median"]
    row("TOTAL", total | {"median_ours_over_decode": med["ours_over_decode"]}, cli_loop=total["cli_detect_s"])
    row("TOTAL of medians", med | {"best_s": med["median_s"], "frames": total["frames"]})
    if any(n.startswith("long_") for n in shots["per_file"]):
        n = sum(r["frames"] for k, r in shots["per_file"].items() if not k.startswith("long_"))
        row("samples only", shots["samples_only"] | {"frames": n})
    return table


def accuracy_table(shots: dict[str, Any]) -> Table:
    table = _table(
        "Shot boundaries vs sidecar truth (cuts +-2 frames exact / +-0.3 s approximate; fades +-0.5 s)",
        ["clip", "truth", "ours", "scenedetect CLI", "keyframes", "F1 ours", "F1 cli"],
    )
    for name, r in shots["per_file"].items():
        fmt = ", ".join
        table.add_row(
            name + ("" if r["exact_truth"] else " (approx.)"),
            fmt(f"{x:g}" for x in r["truth_boundaries"]), fmt(f"{x:.2f}" for x in r["ours_boundaries"]),
            fmt(f"{x:.2f}" for x in r["cli_boundaries"]), str(r["keyframes"]),
            _fmt(r["accuracy_ours"]["f1"]), _fmt(r["accuracy_cli"]["f1"]),
        )  # fmt: skip
    table.add_section()
    for group, d in shots["accuracy"].items():
        o, c = d["ours"], d["cli"]
        detail = f"P {_fmt(o['precision'])} R {_fmt(o['recall'])}"
        table.add_row(
            f"{group}: tp/fp/fn ours {o['tp']}/{o['fp']}/{o['fn']}, cli {c['tp']}/{c['fp']}/{c['fn']}",
            "",
            detail,
            f"P {_fmt(c['precision'])} R {_fmt(c['recall'])}",
            "",
            _fmt(o["f1"]),
            _fmt(c["f1"]),
        )
    return table


def asr_table(asr: dict[str, Any], repeats: int) -> Table:
    table = _table(
        f"ASR, {asr['model']} (best of {repeats})", ["clip", "audio s", "transcribe s", "RTF", "words", "WER"]
    )
    for name, r in asr["per_file"].items():
        table.add_row(
            name, f"{r['audio_s']:.2f}", f"{r['best_s']:.3f}", f"{r['rtf']:.3f}", str(r["words"]), _fmt(r["wer"])
        )
    total = asr["total"]
    table.add_row("TOTAL", f"{total['audio_s']:.2f}", f"{total['best_s']:.3f}", _fmt(total["rtf"], ".3f"), "", "")
    return table


def memory_table(memory: dict[str, Any]) -> Table:
    ours, dec, tm = memory["perception"], memory["decode_only"], memory["perception_tracemalloc"]
    what = "peak RSS of each file's pass" if ours["peak_reset_per_file"] else "cumulative peak RSS (no reset)"
    table = _table(
        f"Memory, MiB ({what}; fresh process per mode)",
        ["clip", "perception", "decode-only", "perception - decode", "Python peak (tracemalloc)"],
        "tracemalloc sees Python and numpy allocations only, not FFmpeg's frame buffers (which PyAV's to_ndarray "
        "may wrap); the RSS difference is the figure to trust",
    )
    table.add_row("after imports (RSS)", str(ours["rss_after_imports_mib"]), str(dec["rss_after_imports_mib"]), "", "")
    for name, r in ours["per_file"].items():
        d = dec["per_file"][name]["peak_rss_mib"]
        table.add_row(
            name,
            str(r["peak_rss_mib"]),
            str(d),
            f"{r['peak_rss_mib'] - d:+.1f}",
            str(tm["per_file"][name]["python_peak_mib"]),
        )
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed passes per clip and method; the best counts")
    ap.add_argument("--no-long", action="store_true", help="skip the generated 60 s 720p clip")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "perception.json")
    ap.add_argument("--real-only", action="store_true", help="only the real-footage shots comparison")
    ap.add_argument("--no-transnet", action="store_true", help="do not run transnetv2 in the real-footage comparison")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pyscenedetect").setLevel(logging.WARNING)  # "Detecting scenes..." on every API call
    if args.real_only:
        with tempfile.TemporaryDirectory(prefix="vidcot-bench-") as tmpname:
            load_before = os.getloadavg()
            rows = real_side_by_side(args.repeats, Path(tmpname), transnet=not args.no_transnet)
        Console(width=None if sys.stdout.isatty() else 150).print(real_table(rows))
        out = args.out.with_name("perception_real.json")
        loads = {"loadavg_before": list(load_before), "loadavg_after": list(os.getloadavg())}
        doc: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine() | loads}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc | {"real": rows}, indent=1) + "\n")
        return
    started = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vidcot-bench-") as tmpname:
        tmp = Path(tmpname)
        workdir = tmp / "cli-cwd"
        workdir.mkdir()
        clips = load_clips(tmp, long_clip=not args.no_long)
        frames = {c.name: decode_only(c.path, width=WIDTH) for c in clips}
        log.info("timing %d clips, %d passes each", len(clips), args.repeats)
        timings = time_all(clips, args.repeats, workdir)
        cli_files = sorted(p.name for p in workdir.iterdir())
        log.info("memory, in fresh processes")
        memory = measure_memory(clips)
        asr = measure_asr(clips, args.repeats)
        shots = summarise(clips, timings, frames)
        real = real_side_by_side(max(1, args.repeats // 2), workdir, transnet=not args.no_transnet)
    load_after = os.getloadavg()
    m = machine()
    total = shots["total"]
    goals = {
        "ours_over_decode_max": GOAL_DECODE_RATIO,
        "ours_over_decode_met": total["ours_over_decode"] <= GOAL_DECODE_RATIO,
        "ours_faster_than_cli": total["ours_over_cli"] < 1,
    }

    console = Console(width=None if sys.stdout.isatty() else 150)
    for table in (
        speed_table(shots),
        accuracy_table(shots),
        real_table(real),
        asr_table(asr, args.repeats),
        memory_table(memory),
    ):
        console.print(table)
    console.print(
        f"perception / decode-only: {total['ours_over_decode']:.2f}x best, "
        f"{shots['total_median']['ours_over_decode']:.2f}x median (goal <= {GOAL_DECODE_RATIO}x: "
        f"{'met' if goals['ours_over_decode_met'] else 'MISSED'}); perception / scenedetect CLI: "
        f"{total['ours_over_cli']:.2f}x (goal < 1: {'met' if goals['ours_faster_than_cli'] else 'MISSED'}); "
        f"perception / scenedetect API: {total['ours_over_api']:.2f}x"
    )
    console.print(
        f"machine: {m['nproc']} cores, {m['cpu_model']}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (other processes may share these cores)"
    )

    doc = {
        "benchmark": "perception",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": m
        | {"loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after]},
        "method": {
            "repeats": args.repeats,
            "timing": "best (and median) of N interleaved passes, warm page cache; the order of methods rotates "
            "per pass",
            "ours": "ShotsStage.process (adaptive detector + fade detectors, keyframe JPEGs, perceptual hashes)",
            "decode": f"curation.decode.decode_only(path, width={WIDTH})",
            "cli": "scenedetect -i FILE detect-adaptive list-scenes -n (0.7 CLI; opencv backend, auto downscale); "
            "wall time including interpreter start-up; cli_detect_s is the CLI's own report of its detection loop",
            "api": "scenedetect.detect(path, AdaptiveDetector()) in this process (no start-up)",
            "accuracy": f"one-to-one boundary matching: +-{CUT_FRAMES} frames on exact sidecars, +-{FADE_TOLERANCE} s "
            f"around fade centres, +-{APPROX_TOLERANCE} s on approximate (real) clips",
            "memory": "per-file peak RSS (VmHWM reset before each file) in a fresh process per mode; tracemalloc "
            "peak in a separate pass",
            "long_clip": None if args.no_long else f"{LONG_SIZE}@{LONG_RATE} libx264 crf 23, sources {LONG_SOURCES}",
            "cli_files_written": cli_files,
        },
        "goals": goals,
        "shots": shots,
        "real_shots": real,
        "memory": memory,
        "asr": asr,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    log.info("wrote %s (%.0f s in all)", args.out, doc["wall_s"])


if __name__ == "__main__":
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg not found; `make setup` installs it")
    main()
