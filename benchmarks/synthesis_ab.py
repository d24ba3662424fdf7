"""Synthesis before and after a change, side by side in one command: the same clips, the same config, perception
cached, both sides run as separate `vidcot curate` processes from their own git worktrees, alternating.

    .venv/bin/python benchmarks/synthesis_ab.py --before cc4f444 [--after HEAD] [--config configs/demo.yaml]
        [--repeats 1] [--out benchmarks/results/synthesis_ab.json] CLIP_OR_FOLDER...

Per side and pass: `curate --until refine` (draft, refine), then `--until pools` (difficulty, negatives, pools; the
chains cached), then the same command again (nothing to do: the start-up cost, subtracted from both). CPU seconds
are the child process's (user + system, its threads included), so a pass on shared, busy cores still measures the
work; wall seconds per stage come from the run summary. Reports the difficulty stage's share of synthesis (CPU and
wall) and the wall and CPU time per accepted SFT row. A benchmark, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from children import ROOT, run_timed, worktrees  # benchmarks/, the script's folder

SYNTHESIS = ("tasks", "draft", "refine", "verify", "negatives", "difficulty", "pools")


def curate(
    code: Path, inputs: list[str], dataset: Path, until: str, config: str | None
) -> tuple[dict[str, Any], float, float]:
    """One `vidcot curate` child from `code`: (its JSON summary, wall seconds, CPU seconds)."""
    cmd = [sys.executable, "-m", "flows.cli", "curate", *inputs, "--out", str(dataset), "--until", until,
           "--no-progress", "--no-card", "--json"]  # fmt: skip
    if config:
        cmd += ["--config", str((ROOT / config).resolve())]
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1"}
    done, wall, cpu = run_timed(cmd, code, env, capture=True)
    if done.returncode != 0:
        raise SystemExit(f"curate failed in {code}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout), wall, cpu


def one_pass(code: Path, inputs: list[str], warm: Path, work: Path, config: str | None) -> dict[str, Any]:
    ds = work / "ds"
    shutil.rmtree(ds, ignore_errors=True)
    shutil.copytree(warm, ds)
    chains, _, cpu_chains = curate(code, inputs, ds, "refine", config)
    rest, _, cpu_rest = curate(code, inputs, ds, "pools", config)
    _, _, cpu_idle = curate(code, inputs, ds, "pools", config)
    wall = {**chains["synthesis"]["stage_wall"], **{k: v for k, v in rest["synthesis"]["stage_wall"].items()
                                                   if k not in ("draft", "refine")}}  # fmt: skip
    wall = {k: wall.get(k, 0.0) for k in SYNTHESIS}
    cpu = {"draft+refine": max(0.0, cpu_chains - cpu_idle), "difficulty+negatives+pools": max(0.0, cpu_rest - cpu_idle)}
    synthesis_wall = sum(wall.values())
    sft = rest["synthesis"]["pools"].get("sft", 0)
    cpu_total = sum(cpu.values())
    return {
        "stage_wall": {k: round(v, 2) for k, v in wall.items()},
        "cpu": {k: round(v, 2) for k, v in cpu.items()},
        "startup_cpu": round(cpu_idle, 2),
        "difficulty_share_wall": round(wall["difficulty"] / synthesis_wall, 3) if synthesis_wall else None,
        "difficulty_share_cpu_upper": round(cpu["difficulty+negatives+pools"] / cpu_total, 3) if cpu_total else None,
        "sft_rows": sft,
        "wall_per_sft_row": round(synthesis_wall / sft, 2) if sft else None,
        "cpu_per_sft_row": round(cpu_total / sft, 2) if sft else None,
        "load": os.getloadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--before", required=True, help="git revision of the 'before' side")
    ap.add_argument("--after", default="HEAD", help="git revision of the 'after' side (default HEAD)")
    ap.add_argument("--config", default="configs/demo.yaml", help="curate config (relative to the repo)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/synthesis_ab.json")
    args = ap.parse_args()
    inputs = [str(Path(p).resolve()) for p in args.inputs]
    with tempfile.TemporaryDirectory(prefix="synthesis_ab_") as tmp:
        work = Path(tmp)
        sides = {"before": args.before, "after": args.after}
        with worktrees(sides.values(), work) as trees:
            code = {name: trees[rev] for name, rev in sides.items()}
            warm = {}
            for name in sides:  # perception once per side (stage versions may differ), not timed
                warm[name] = work / f"warm-{name}"
                curate(code[name], inputs, warm[name], "evidence", args.config)
            passes: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
            for i in range(args.repeats):
                for name in sides if i % 2 == 0 else reversed(list(sides)):
                    (work / name).mkdir(exist_ok=True)
                    result = one_pass(code[name], inputs, warm[name], work / name, args.config)
                    passes[name].append(result)
                    print(name, json.dumps(result), flush=True)
    doc = {"revisions": sides, "config": args.config, "inputs": [Path(p).name for p in inputs],
           "cpus": os.cpu_count(), "passes": passes}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
