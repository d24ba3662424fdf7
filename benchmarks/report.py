"""The benchmark report: every measure of issue #8 side by side from one run, into REPORT.md and report.json.

    .venv/bin/python benchmarks/report.py [--repeats 2] [--rerun perception] [--no-llm] [--clips N]

Measured here, in this process, on the sample clips (`vidcot samples`):

- per-stage throughput (video-seconds per wall-second) of probe, shots, ASR and evidence called directly, and of
  the synthesis stages from a full run (`configs/demo.yaml`);
- Prefect's overhead: the same perception stages called directly vs through the `curate` flow (Prefect tasks,
  stage cache, publishing), on the same files, alternating, best of `--repeats`; both load their models fresh;
- wall time per accepted SFT row: the flow's perception plus synthesis wall time over the SFT rows it published;
- peak memory of this process (ru_maxrss), and whether pool queries read the `frames` image bytes (`pool_scan`).

Collected from the other benchmarks (run again with `--rerun perception`; the LLM benchmark runs unless `--no-llm`):
perception vs decode-only and vs the `scenedetect` CLI, ASR real-time factor and per-process memory
(`perception.py`), LLM tokens/s batched vs one at a time (`llm_throughput.py`), the scale run (`scale.py`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT))

log = logging.getLogger("benchmarks.report")

PERCEPTION = ("probe", "shots", "asr", "evidence")
SYNTHESIS = ("tasks", "draft", "refine", "verify", "negatives", "difficulty", "pools")
# Pool queries a user runs, and two controls on the frames table: metadata only, and the image bytes themselves.
POOL_QUERIES = {
    "sft by split and type": "SELECT split, problem_type, count(*) FROM sft GROUP BY ALL",
    "rl joined with videos": "SELECT r.problem_type, avg(v.duration) FROM rl r JOIN videos v USING (video_id) "
    "GROUP BY ALL",
    "frames metadata (no jpeg)": "SELECT count(*), avg(width), count(DISTINCT shot_id) FROM frames",
    "frames jpeg bytes (control)": "SELECT sum(octet_length(jpeg)) FROM frames",
}


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory and library versions: the numbers mean little without them."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), platform.processor())
    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "mem_gib": round(int(mem.split()[1]) / 2**20, 1),
        "python": platform.python_version(),
        "packages": {p: version(p) for p in ("prefect", "duckdb", "pyarrow", "torch", "faster-whisper", "av")},
    }


# ---- pool queries vs the frames image bytes ------------------------------------------------------------------------


def _read_bytes() -> int:
    """Bytes this process has read through read()/pread() so far (/proc/self/io rchar; page-cache hits count)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


def pool_scan(dataset: Path) -> dict[str, Any]:
    """Bytes DuckDB reads for each of `POOL_QUERIES` (fresh connection each) and what its profile scanned.

    The frames table is the only one with image bytes; a pool query must read none of its shards, and a frames
    metadata query must skip the jpeg column chunks (frames shards have small row groups for this).
    """
    from schemas.store import Dataset
    from schemas.store.query import connect

    ds = Dataset(dataset)
    out: dict[str, Any] = {
        "frames_shard_bytes": sum(s.bytes for s in ds.shards("frames")),
        "frames_rows": ds.rows("frames"),
        "queries": {},
    }
    for name, sql in POOL_QUERIES.items():
        con = connect(dataset)
        con.execute("SET threads = 1")  # reads then all happen on one thread of this process
        before = _read_bytes()
        rows = con.execute(sql).fetchall()
        read = _read_bytes() - before
        plan = "\n".join(str(r[-1]) for r in connect(dataset).execute("EXPLAIN ANALYZE " + sql).fetchall())
        data_read = re.search(r"Data Read:\s*([\d.]+\s*\w+)", plan)
        out["queries"][name] = {
            "sql": sql,
            "bytes_read": read,
            "rows": len(rows),
            "duckdb_data_read": data_read.group(1) if data_read else None,
            "tables_scanned": sorted(set(re.findall(r"/(\w+)/[0-9a-f]{32}\.parquet", plan))),
            "jpeg_projected": bool(re.search(r"Projections:[^\n]*\bjpeg\b", plan)),
        }
        con.close()
    return out


# ---- per-stage throughput and Prefect's overhead --------------------------------------------------------------------


def sample_clips(limit: int | None) -> list[Path]:
    from curation.samples import build_samples
    from trainers.embedded import cache_root

    folder = cache_root() / "samples"
    clips = [folder / sc.file for sc in build_samples(folder) if sc.has_video]
    clips.sort(key=lambda p: p.stat().st_size)
    return clips[:limit] if limit else clips


def run_direct(clips: list[Path]) -> dict[str, Any]:
    """Each perception stage called directly, one clip after another, fresh stage objects (models load here too)."""
    from curation.asr import AsrStage
    from curation.evidence import EvidenceStage
    from curation.probe import ProbeStage
    from curation.shots import ShotsStage
    from curation.stage import Rejected, Stage
    from flows.config import CurateConfig

    cfg = CurateConfig()
    t_all = time.perf_counter()
    stages: dict[str, Stage[Any, Any, Any]] = {
        "probe": ProbeStage(cfg.probe),
        "shots": ShotsStage(cfg.shots),
        "asr": AsrStage(cfg.asr),
        "evidence": EvidenceStage(cfg.evidence),
    }
    seconds = dict.fromkeys(PERCEPTION, 0.0)
    setup = {}
    for name, stage in stages.items():
        t0 = time.perf_counter()
        stage.ensure_setup()
        setup[name] = time.perf_counter() - t0
    video_s = 0.0
    for path in clips:
        t0 = time.perf_counter()
        video = stages["probe"].process(path)
        seconds["probe"] += time.perf_counter() - t0
        if isinstance(video, Rejected):
            continue
        video_s += video.duration or 0.0
        t0 = time.perf_counter()
        shots = stages["shots"].process(video)
        seconds["shots"] += time.perf_counter() - t0
        if isinstance(shots, Rejected):
            continue
        t0 = time.perf_counter()
        stages["asr"].process(video)
        seconds["asr"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        stages["evidence"].process(shots[1])
        seconds["evidence"] += time.perf_counter() - t0
    return {"wall_s": time.perf_counter() - t_all, "setup_s": setup, "stage_s": seconds, "video_s": video_s}


def run_flow(clips: list[Path], dataset: Path, until: str, config_file: Path | None = None) -> Any:
    """The `curate` flow in this process (the same call `vidcot curate` makes)."""
    from flows.commands.curate import _quiet_prefect  # the CLI's own filters for Prefect's log noise
    from flows.config import load_config
    from flows.curate import run_curate

    _quiet_prefect(verbose=False)
    config = load_config(config_file, [])
    return run_curate(clips, dataset, config, until=until, show_progress=False, card=False)  # no dataset card


def perception_vs_flow(clips: list[Path], repeats: int, work: Path) -> dict[str, Any]:
    """Direct and flow passes alternate (each first in turn); each flow pass writes a fresh dataset."""
    direct: list[dict[str, Any]] = []
    flow: list[dict[str, Any]] = []
    last_ds = work / "flow-0"
    for rep in range(repeats):
        order = ("direct", "flow") if rep % 2 == 0 else ("flow", "direct")
        for what in order:
            log.info("pass %d: %s", rep + 1, what)
            if what == "direct":
                direct.append(run_direct(clips))
                continue
            last_ds = work / f"flow-{rep}"
            t0 = time.perf_counter()
            s = run_flow(clips, last_ds, "evidence")
            flow.append({"wall_s": time.perf_counter() - t0, "summary": s.to_json()})
    best_d = min(direct, key=lambda d: d["wall_s"])
    best_f = min(flow, key=lambda f: f["wall_s"])
    video_s = best_d["video_s"]
    per_stage = {
        s: {"seconds": round(best_d["stage_s"][s], 3), "setup_s": round(best_d["setup_s"][s], 2),
            "video_s_per_s": round(video_s / best_d["stage_s"][s], 1) if best_d["stage_s"][s] else None}
        for s in PERCEPTION
    }  # fmt: skip
    inside = sum(best_f["summary"]["stage_seconds"].values())
    return {
        "clips": [p.name for p in clips],
        "video_s": round(video_s, 2),
        "per_stage_direct": per_stage,
        "direct_wall_s": [round(d["wall_s"], 2) for d in direct],
        "flow_wall_s": [round(f["wall_s"], 2) for f in flow],
        "flow_stage_wall_s": best_f["summary"]["stage_wall"],
        "flow_stage_seconds": best_f["summary"]["stage_seconds"],
        "prefect_overhead": {
            "flow_over_direct": round(best_f["wall_s"] / best_d["wall_s"], 3),
            "extra_s": round(best_f["wall_s"] - best_d["wall_s"], 2),
            "flow_outside_stages_s": round(best_f["wall_s"] - inside, 2),
        },
        "dataset": str(last_ds),
        "perception_wall_s": round(best_f["wall_s"], 2),
    }


def synthesis_pass(dataset: Path, clips: list[Path], perception_wall: float, video_s: float) -> dict[str, Any]:
    """The synthesis stages (demo config) on the flow's dataset, whose perception is cached; SFT rows per second."""
    t0 = time.perf_counter()
    s = run_flow(clips, dataset, "pools", ROOT / "configs" / "demo.yaml")
    wall = time.perf_counter() - t0
    syn = s.synthesis.to_json() if s.synthesis else {}
    sft = syn.get("pools", {}).get("sft", 0)
    stage_wall = syn.get("stage_wall", {})
    return {
        "wall_s": round(wall, 2),
        "tasks": syn.get("tasks"),
        "verdicts": syn.get("verdicts"),
        "pools": syn.get("pools"),
        "stage_wall_s": stage_wall,
        "video_s_per_s": {k: round(video_s / v, 1) if v else None for k, v in stage_wall.items()},
        "sft_rows": sft,
        "wall_s_per_sft_row": round((perception_wall + wall) / sft, 2) if sft else None,
        "perception_plus_synthesis_s": round(perception_wall + wall, 2),
    }


# ---- the other benchmarks ------------------------------------------------------------------------------------------


def load_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def llm_throughput() -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(HERE / "llm_throughput.py")], capture_output=True, text=True,
                          cwd=ROOT, check=True)  # fmt: skip
    doc: dict[str, Any] = json.loads(proc.stdout[proc.stdout.index("{") :])  # one indented JSON object
    (RESULTS / "llm_throughput.json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc


# ---- REPORT.md -----------------------------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join("-" if c is None else str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def render(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    parts = [
        "# Benchmark report",
        "",
        f"Generated by `benchmarks/report.py` on {doc['date']}: {m['nproc']} cores ({m['cpu_model']}), "
        f"{m['mem_gib']} GiB RAM, Python {m['python']}; load average {doc['loadavg_before'][0]} before, "
        f"{doc['loadavg_after'][0]} after (the cores are shared with other jobs: read ratios, not absolutes).",
        "",
    ]
    pf = doc.get("perception_vs_flow")
    if pf:
        n, video_s = len(pf["clips"]), pf["video_s"]
        parts += ["## Per-stage throughput (perception, stages called directly)", "",
                  f"{n} sample clips ({', '.join(pf['clips'])}), {video_s} s of video kept by probe; best of "
                  f"{doc['repeats']} passes; set-up (model loading) is timed apart.", ""]  # fmt: skip
        rows = [[s, v["seconds"], v["setup_s"], v["video_s_per_s"]] for s, v in pf["per_stage_direct"].items()]
        parts += [_md_table(["stage", "seconds", "model set-up s", "video-s per wall-s"], rows), ""]
        po = pf["prefect_overhead"]
        direct_stage_s = sum(v["seconds"] + v["setup_s"] for v in pf["per_stage_direct"].values())
        parts += [
            "## Prefect's overhead over calling the stages directly",
            "",
            _md_table(
                ["", "wall s (each pass)", "best"],
                [
                    ["direct calls", ", ".join(map(str, pf["direct_wall_s"])), min(pf["direct_wall_s"])],
                    [
                        "`curate` flow, `--until evidence`",
                        ", ".join(map(str, pf["flow_wall_s"])),
                        min(pf["flow_wall_s"]),
                    ],
                ],
            ),  # fmt: skip
            "",
            f"Flow / direct, best against best: **{po['flow_over_direct']}x** ({po['extra_s']:+} s); pass by pass: "
            f"{', '.join(f'{f / d:.2f}x' for f, d in zip(pf['flow_wall_s'], pf['direct_wall_s'], strict=False))} "
            "(the first flow pass also starts Prefect's ephemeral API server). Of the best flow pass, "
            f"{po['flow_outside_stages_s']} s is outside stage calls (Prefect task runs, the stage cache, publishing "
            f"shards and the manifest); its stage calls took {round(sum(pf['flow_stage_seconds'].values()), 1)} s "
            f"against {round(direct_stage_s, 1)} s called directly (set-up included): the same stage work ran "
            "slower inside the flow, most likely from contention on two shared cores (Prefect's API server process "
            "beside it, other jobs' load moving between passes); this run does not separate the two.",
            "",
        ]
    sp = doc.get("synthesis")
    if sp:
        rows = [[k, v, sp["video_s_per_s"].get(k)] for k, v in sp["stage_wall_s"].items()]
        parts += ["## Synthesis stages and wall time per accepted SFT row", "",
                  f"`configs/demo.yaml` on the same clips (perception cached): {sp['tasks']} tasks, verdicts "
                  f"{sp['verdicts']}, pools {sp['pools']}.", "",
                  _md_table(["stage", "wall s", "video-s per wall-s"], rows), "",
                  f"Wall time per accepted SFT row: **{sp['wall_s_per_sft_row']} s** ("
                  f"{sp['perception_plus_synthesis_s']} s in all, {sp['sft_rows']} rows).", ""]  # fmt: skip
    perc = doc.get("perception")
    if perc:
        t, g = perc["shots"]["total"], perc["goals"]
        asr = perc["asr"]["total"]
        mem = perc["memory"]["perception"]["per_file"]
        peak = [r["peak_rss_mib"] for r in mem.values()]
        long_r = next((r for k, r in perc["shots"]["per_file"].items() if k.startswith("long_")), None)
        acc = perc["shots"]["accuracy"]["all"]
        parts += [
            f"## Perception vs decode-only and vs the scenedetect CLI (`perception.py`, {perc['date']})",
            "",
            _md_table(["measure", "result"], [
                ["perception / decode-only at the same width (all clips)",
                 f"{t['ours_over_decode']}x (goal <= {g['ours_over_decode_max']}x)"],
                ["... on the 60 s 720p clip", long_r and f"{long_r['ours_over_decode']}x"],
                ["perception / `scenedetect detect-adaptive` CLI", f"{t['ours_over_cli']}x its wall time"],
                ["shot boundaries F1, ours vs CLI", f"{acc['ours']['f1']} vs {acc['cli']['f1']}"],
                ["ASR real-time factor (tiny.en int8)", asr["rtf"]],
                ["peak RSS per perception process", f"{min(peak)}-{max(peak)} MiB"],
            ]),
            "",
            f"Machine of that run: {perc['machine']['nproc']} cores, {perc['machine']['cpu_model']}, load "
            f"{perc['machine']['loadavg_before'][0]}.",
            "",
        ]  # fmt: skip
    llm = doc.get("llm")
    if llm:
        rows = [[k, json.dumps(v)] for k, v in llm.items() if k not in ("machine",)]
        parts += ["## Embedded LLM tokens/s, batched vs one at a time (`llm_throughput.py`)", "",
                  _md_table(["field", "value"], rows), ""]  # fmt: skip
    ev = doc.get("evidence")
    if ev:
        sp = ev["speed"]
        scores = ev["quality"]["scores"]
        rows = [[side, sp["video_s_per_s"][side], sp["video_s_per_cpu_s"][side],
                 ", ".join(f"{k.split(':')[1]} {v['precision']}/{v['recall']}" for k, v in scores.items()
                           if k.startswith(side + ":"))]
                for side in sp["video_s_per_s"]]  # fmt: skip
        header = ["side", "video-s per wall-s", "video-s per CPU-s", "precision/recall"]
        parts += [f"## Evidence before ({ev['before']}) vs after (`evidence.py`, load {round(ev['load'][0], 1)})", "",
                  f"{sp['keyframes']} keyframes of {len(sp['clips'])} clips, {sp['video_seconds']} s of video; best "
                  "pass of each; precision/recall on the labelled keyframes.", "",
                  _md_table(header, rows), ""]  # fmt: skip
    sc_cli = doc.get("shots_cli")
    if sc_cli:
        rows = [[name, r["wall_median"], r["wall_best"], r["cpu_median"]]
                for name, r in (("now", sc_cli["ours_over_scenedetect"]),
                                (sc_cli["before"], sc_cli["before_over_scenedetect"]))]  # fmt: skip
        parts += [f"## `vidcot shots` / the scenedetect CLI on {sc_cli['clip']} (`shots_cli.py`, load "
                  f"{round(sc_cli['load'][0], 1)})", "",
                  _md_table(["code", "wall median", "wall best", "CPU median"], rows), ""]  # fmt: skip
    ab = doc.get("synthesis_ab")
    if ab:
        parts += [f"## Synthesis before ({ab['revisions']['before']}) vs after ({ab['revisions']['after']}), one run "
                  f"(`synthesis_ab.py`, {ab['config']}, {len(ab['inputs'])} clips, perception cached)", "",
                  "CPU seconds are the curate processes' own (their start-up subtracted), so they hold on busy cores; "
                  "the difficulty CPU share also counts negatives and pools (an upper bound).", ""]  # fmt: skip
        rows = [[side, i + 1, p["stage_wall"]["draft"], p["stage_wall"]["refine"], p["stage_wall"]["difficulty"],
                 p["cpu"]["draft+refine"], p["cpu"]["difficulty+negatives+pools"], p["difficulty_share_wall"],
                 p["difficulty_share_cpu_upper"], p["sft_rows"], p["wall_per_sft_row"], p["cpu_per_sft_row"],
                 round(p["load"][0], 1)]
                for side, passes in ab["passes"].items() for i, p in enumerate(passes)]  # fmt: skip
        header = ["side", "pass", "draft s", "refine s", "difficulty s", "CPU draft+refine", "CPU difficulty+",
                  "difficulty share (wall)", "share (CPU)", "SFT rows", "wall s / SFT row", "CPU s / SFT row",
                  "load"]  # fmt: skip
        parts += [_md_table(header, rows), ""]
    sc = doc.get("scale")
    if sc:
        mem, full = sc["memory"], sc["full_subset"]
        parts += [
            f"## Scale (`scale.py`, N = {sc['n']}, {sc['date']})",
            "",
            f"{sc['clip']}. Seconds per {sc['per_step']} videos by position in the run (perception stages summed): "
            f"{sc['seconds_per_step']} (the first also loads the models); last / median "
            f"{sc['linear'].get('last_over_median')}. Peak RSS "
            f"{mem['small_peak_rss_mib']} MiB at {mem['small_videos']} videos vs {mem['big_peak_rss_mib']} MiB at "
            f"{mem['big_videos']} ({mem['ratio']}x; goal <= {mem['goal_ratio']}x). In full on "
            f"{full['videos']} videos: {full['sft_rows']} SFT rows, {full['wall_s_per_sft_row']} s per row.",
            "",
        ]  # fmt: skip
    scan = doc.get("pool_scan")
    if scan:
        rows = [[k, v["bytes_read"], v["duckdb_data_read"], ", ".join(v["tables_scanned"]),
                 "yes" if v["jpeg_projected"] else "no"] for k, v in scan["queries"].items()]  # fmt: skip
        parts += [
            "## Pool queries do not read the frames image bytes",
            "",
            f"On the synthesis dataset above ({scan['frames_rows']} keyframes, {scan['frames_shard_bytes']} bytes of "
            "frames shards). Per query: bytes this process read while it ran (/proc/self/io `rchar`), and from "
            "DuckDB's EXPLAIN ANALYZE profile the data it read, the tables whose shards it scanned, and whether it "
            "read the jpeg column:",
            "",
            _md_table(["query", "bytes read (process)", "DuckDB data read", "tables scanned", "jpeg read"], rows),
            "",
        ]
    parts += [f"Peak RSS of the report process: {doc['peak_rss_mib']} MiB. Total wall time {doc['wall_s']} s.", ""]
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="direct and flow passes (alternating); the best counts")
    ap.add_argument("--clips", type=int, default=None, help="use only the N smallest sample clips")
    ap.add_argument("--rerun", action="append", default=[], choices=["perception"], help="run this benchmark again")
    ap.add_argument("--no-llm", action="store_true", help="collect llm_throughput.json instead of running it")
    ap.add_argument("--md", type=Path, default=HERE / "REPORT.md")
    ap.add_argument("--out", type=Path, default=RESULTS / "report.json")
    ap.add_argument("--render-only", action="store_true",
                    help="measure nothing: rebuild REPORT.md from the JSON results")  # fmt: skip
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.render_only:
        doc = json.loads(args.out.read_text())
        doc |= {"perception": load_json(RESULTS / "perception.json"), "scale": load_json(RESULTS / "scale.json"),
                "llm": load_json(RESULTS / "llm_throughput.json") or doc.get("llm"),
                "synthesis_ab": load_json(RESULTS / "synthesis_ab.json"),
                "evidence": load_json(RESULTS / "evidence.json"),
                "shots_cli": load_json(RESULTS / "shots_cli.json")}  # fmt: skip
        args.md.write_text(render(doc))
        log.info("rebuilt %s from %s", args.md, args.out)
        return
    started = time.perf_counter()
    load_before = os.getloadavg()
    if "perception" in args.rerun:
        subprocess.run([sys.executable, str(HERE / "perception.py")], cwd=ROOT, check=True)
    llm = load_json(RESULTS / "llm_throughput.json") if args.no_llm else llm_throughput()
    clips = sample_clips(args.clips)
    work = Path(tempfile.mkdtemp(prefix="vidcot-report-"))
    try:
        pf = perception_vs_flow(clips, args.repeats, work)
        syn = synthesis_pass(Path(pf["dataset"]), clips, pf["perception_wall_s"], pf["video_s"])
        scan = pool_scan(Path(pf["dataset"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    doc = {
        "benchmark": "report",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "repeats": args.repeats,
        "perception_vs_flow": pf,
        "synthesis": syn,
        "pool_scan": scan,
        "perception": load_json(RESULTS / "perception.json"),
        "llm": llm,
        "scale": load_json(RESULTS / "scale.json"),
        "synthesis_ab": load_json(RESULTS / "synthesis_ab.json"),
        "evidence": load_json(RESULTS / "evidence.json"),
        "shots_cli": load_json(RESULTS / "shots_cli.json"),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    own_files = ("perception", "scale", "synthesis_ab", "evidence", "shots_cli")
    slim = {k: v for k, v in doc.items() if k not in own_files}
    slim["sources"] = {"perception": "perception.json", "scale": "scale.json", "llm": "llm_throughput.json"}
    args.out.write_text(json.dumps(slim, indent=1) + "\n")
    args.md.write_text(render(doc))
    log.info("wrote %s and %s (%.0f s)", args.md, args.out, doc["wall_s"])


if __name__ == "__main__":
    main()
