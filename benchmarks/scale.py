"""Scale benchmark: N generated short videos through `vidcot curate --until evidence`, then a subset in full.

    .venv/bin/python benchmarks/scale.py [--n 1000] [--memory-at 100] [--subset 10] [--workdir DIR]
                                         [--out benchmarks/results/scale.json]

1. Generates N tiny clips with ffmpeg lavfi (160x90, 15 fps, 2-3 s, a sine tone; every other clip has a hard cut).
   Source, hue and tone differ per clip, so every content hash differs and none is dropped as a duplicate. Clips are
   kept in the work dir and reused by later runs.
2. Curates the first `--memory-at` clips and then all N into fresh datasets, each in its own `vidcot curate`
   process (`--until evidence`): peak RSS of each process (wait4 rusage) — the goal is N within 1.2x of 100 — and,
   from the stage cache's completion times, seconds per 100 videos for each stage across the N run (linear cost:
   the last hundred may not be slower than the first).
3. Curates `--subset` clips in full (every synthesis stage, `configs/demo.yaml`) and reports wall time per
   accepted SFT row.
4. Checks that pool queries do not read the `frames` image bytes (`report.pool_scan`: bytes read by DuckDB per
   query, and the files its EXPLAIN ANALYZE profile scanned).

Results go to JSON (and `benchmarks/report.py` puts them in REPORT.md). A 1,000-video run takes hours on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from report import machine, pool_scan  # noqa: E402

log = logging.getLogger("benchmarks.scale")

SIZE, RATE = "160x90", 15
SOURCES = ("testsrc", "testsrc2", "smptebars", "rgbtestsrc", "mandelbrot", "cellauto", "life", "yuvtestsrc")
PERCEPTION = ("probe", "shots", "asr", "evidence")
# Prefect's ephemeral API server gets 20 s to start by default; a loaded machine can need more.
ENV = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", **os.environ}


def make_clip(out: Path, i: int) -> None:
    """Clip `i`: 2, 2.5 or 3 s; a hard cut halfway in odd clips; hue and tone set by `i` (unique bytes)."""
    seconds = 2.0 + 0.5 * (i % 3)
    hue = f"hue=h={(i * 37) % 360}"
    a, b = SOURCES[i % len(SOURCES)], SOURCES[(i * 3 + 1) % len(SOURCES)]

    def src(name: str, dur: float) -> str:  # not every lavfi source takes `duration`: trim them all
        return f"{name}=size={SIZE}:rate={RATE},trim=duration={dur},setpts=PTS-STARTPTS,{hue}"

    if i % 2:
        video = f"{src(a, seconds / 2)}[a];{src(b, seconds / 2)}[b];[a][b]concat=n=2,format=yuv420p[v]"
    else:
        video = f"{src(a, seconds)},format=yuv420p[v]"
    tone = f"sine=frequency={200 + i}:sample_rate=16000:duration={seconds}[s]"
    cmd = ["ffmpeg", "-v", "error", "-y", "-filter_complex", f"{video};{tone}", "-map", "[v]", "-map", "[s]"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "32k", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)


def generate(folder: Path, n: int) -> list[Path]:
    """The first n clips (made now where missing), in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"clip{i:05d}.mp4" for i in range(n)]
    todo = [(p, i) for i, p in enumerate(paths) if not p.is_file()]
    if todo:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            jobs = [pool.submit(make_clip, p, i) for p, i in todo]
            for job in track(jobs, description=f"generating {len(todo)} clips", console=Console(stderr=True)):
                job.result()
    return paths


def curate(paths: list[Path], dataset: Path, *extra: str) -> dict[str, Any]:
    """`vidcot curate` in a child process; its summary, wall time and peak RSS (the child's own, from wait4)."""
    listing = dataset.with_suffix(".txt")
    listing.write_text("".join(f"{p}\n" for p in paths))
    out = dataset.with_suffix(".out")
    cmd = [sys.executable, "-m", "flows.cli", "curate", str(listing), "--out", str(dataset), "--no-progress", "--json"]
    t0 = time.perf_counter()
    with open(out, "w") as stdout, open(dataset.with_suffix(".err"), "w") as stderr:
        proc = subprocess.Popen([*cmd, *extra], cwd=ROOT, stdout=stdout, stderr=stderr, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"curate failed ({proc.returncode}); see {dataset.with_suffix('.err')}")
    summary = json.loads(out.read_text().strip().splitlines()[-1])
    return {"videos": len(paths), "wall_s": round(wall, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "summary": summary}  # fmt: skip


def per_hundred(dataset: Path, step: int = 100) -> dict[str, list[float]]:
    """Seconds taken by each `step` videos in every perception stage, from the cache entries' completion times.

    Stages run one after another over all videos, so a stage starts when the one before finished its last video
    (the probe stage: at its first completion, so its first bucket is one video short).
    """
    out = {}
    start: float | None = None
    for stage in PERCEPTION:
        times = sorted(p.stat().st_mtime for p in (dataset / ".cache" / stage).glob("*/*/outcome.json"))
        if not times:
            out[stage] = []
            continue
        marks = [start if start is not None else times[0], *times[step - 1 :: step]]
        if len(times) % step:
            marks.append(times[-1])  # the last, partial bucket
        out[stage] = [round(b - a, 2) for a, b in zip(marks, marks[1:], strict=False)]
        start = times[-1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="videos in the big run (default 1000)")
    ap.add_argument("--memory-at", type=int, default=100, help="videos in the small run memory is compared with")
    ap.add_argument("--subset", type=int, default=10, help="videos curated in full (all synthesis stages)")
    ap.add_argument("--step", type=int, default=100, help="videos per timing bucket")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "vidcot-scale")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    load_before = os.getloadavg()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    clips = generate(work / "clips", args.n)
    gen_s = time.perf_counter() - t0
    runs = {}
    for label, count in (("small", min(args.memory_at, args.n)), ("big", args.n)):
        ds = work / f"ds-{label}-{count}"
        if ds.exists():
            subprocess.run(["rm", "-rf", str(ds)], check=True)
        log.info("curating %d videos (--until evidence) into %s", count, ds)
        runs[label] = curate(clips[:count], ds, "--until", "evidence")
    big_ds = work / f"ds-big-{args.n}"
    buckets = per_hundred(big_ds, args.step)
    totals = [round(sum(x), 2) for x in zip(*(buckets[s] for s in PERCEPTION), strict=False)]
    full_ds = work / f"ds-full-{args.subset}"
    if full_ds.exists():
        subprocess.run(["rm", "-rf", str(full_ds)], check=True)
    log.info("curating %d videos in full into %s", args.subset, full_ds)
    full = curate(clips[: args.subset], full_ds, "--config", str(ROOT / "configs" / "demo.yaml"))
    sft_rows = full["summary"]["synthesis"]["pools"].get("sft", 0) if full["summary"]["synthesis"] else 0
    scan = pool_scan(full_ds)
    small, big = runs["small"], runs["big"]
    full_buckets = [t for t in totals[: len(totals) - 1 if (args.n % args.step) else len(totals)]]
    doc = {
        "benchmark": "scale",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine()
        | {
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },  # fmt: skip
        "n": args.n,
        "clip": f"{SIZE}@{RATE} libx264 ultrafast + aac sine, 2-3 s, a hard cut in every other clip",
        "generate_s": round(gen_s, 1),
        "runs": runs,
        "per_step": args.step,
        "seconds_per_step_by_stage": buckets,
        "seconds_per_step": totals,
        "linear": {
            "first_step_s": full_buckets[0] if full_buckets else None,
            "last_step_s": full_buckets[-1] if full_buckets else None,
            "last_over_first": round(full_buckets[-1] / full_buckets[0], 3) if len(full_buckets) > 1 else None,
            "median_step_s": statistics.median(full_buckets) if full_buckets else None,
            # the first bucket of each stage also loads that stage's models
            "last_over_median": round(full_buckets[-1] / statistics.median(full_buckets), 3) if full_buckets else None,
        },
        "memory": {
            "small_videos": small["videos"],
            "big_videos": big["videos"],
            "small_peak_rss_mib": small["peak_rss_mib"],
            "big_peak_rss_mib": big["peak_rss_mib"],
            "ratio": round(big["peak_rss_mib"] / small["peak_rss_mib"], 3),
            "goal_ratio": 1.2,
        },
        "full_subset": {
            "videos": args.subset,
            "wall_s": full["wall_s"],
            "peak_rss_mib": full["peak_rss_mib"],
            "sft_rows": sft_rows,
            "wall_s_per_sft_row": round(full["wall_s"] / sft_rows, 2) if sft_rows else None,
            "summary": full["summary"],
        },
        "pool_scan": scan,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    m = doc["memory"]
    Console().print(
        f"{args.n} videos: {big['wall_s']} s ({big['wall_s'] / args.n * 100:.1f} s per 100); seconds per "
        f"{args.step} by run position: {totals}; peak RSS {m['small_peak_rss_mib']} MiB at {m['small_videos']} "
        f"vs {m['big_peak_rss_mib']} MiB at {m['big_videos']} ({m['ratio']}x, goal <= 1.2x); full subset of "
        f"{args.subset}: {sft_rows} SFT rows, {doc['full_subset']['wall_s_per_sft_row']} s per row"
    )
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
