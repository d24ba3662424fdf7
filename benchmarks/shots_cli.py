"""`vidcot shots CLIP` against `scenedetect -i CLIP detect-adaptive list-scenes -n`, whole commands side by side.

    .venv/bin/python benchmarks/shots_cli.py [--clip PATH] [--repeats 5] [--before REV]
        [--out benchmarks/results/shots_cli.json]

Both are run as the user runs them (a fresh process each, interpreter start-up and imports included) on the hard
720p clip (`curation.footage.build_hard_clip`) unless --clip names another, alternating who goes first, in an empty
temp dir. Ours probes the file, detects shots, makes the keyframe JPEGs and hashes and prints its shot table;
scenedetect's prints its scene table. Reported per command: wall seconds and CPU seconds (user + system of the
child) of every run, and ours / scenedetect for the best and the median of each. The cores are shared with other
jobs: CPU time is the fair measure, wall time the one a user sees. With --before, the command as it was at REV
(`python -m flows.cli shots` from a git worktree of REV) takes its turn too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from children import run_timed, worktrees  # noqa: E402  (benchmarks/, the script's folder)

from trainers.embedded import cache_root  # noqa: E402

BIN = Path(sys.executable).parent


def hard_clip() -> Path:
    """The 65 s 720p clip of real sources with hard cuts and fades (built once)."""
    from curation.footage import build_hard_clip
    from curation.samples import build_samples, opencv_examples

    samples = cache_root() / "samples"
    build_samples(samples)
    out = cache_root() / "hard_footage" / "hard720.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    return build_hard_clip(samples, opencv_examples(), out).path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, help="default: the hard 720p clip")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--before", metavar="REV", help="also time `vidcot shots` as it was at this git revision")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "shots_cli.json")
    args = ap.parse_args()
    clip = (args.clip or hard_clip()).resolve()
    if not clip.is_file():
        sys.exit(f"{clip}: no such file")
    cmds = {
        "ours": [str(BIN / "vidcot"), "shots", str(clip)],
        "scenedetect": [str(BIN / "scenedetect"), "-i", str(clip), "detect-adaptive", "list-scenes", "-n"],
    }
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, worktrees([args.before] if args.before else [], Path(tmp)) as trees:
        cwd = {name: Path(tmp) for name in cmds}
        env = {name: dict(os.environ) for name in cmds}
        if args.before:
            old = trees[args.before]
            cmds["before"] = [sys.executable, "-m", "flows.cli", "shots", str(clip)]
            cwd["before"], env["before"] = old, {**os.environ, "PYTHONPATH": str(old)}
        runs: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in cmds}
        for k in range(args.repeats):
            for name in list(cmds) if k % 2 == 0 else list(cmds)[::-1]:
                done, wall, cpu = run_timed(cmds[name], cwd[name], env[name])
                done.check_returncode()
                runs[name]["wall"].append(round(wall, 3))
                runs[name]["cpu"].append(round(cpu, 3))
                print(f"{k + 1}/{args.repeats} {name}: wall {wall:.2f} s, cpu {cpu:.2f} s", file=sys.stderr)

    def ratio(kind: str, how: Any, name: str = "ours") -> float:
        return round(how(runs[name][kind]) / how(runs["scenedetect"][kind]), 3)

    result = {
        "clip": clip.name,
        "commands": {k: " ".join(Path(c).name if i == 0 else c for i, c in enumerate(v)) for k, v in cmds.items()},
        "load": load,
        "load_after": os.getloadavg(),
        "runs": runs,
        "before": args.before,
        **{
            f"{name}_over_scenedetect": {
                "wall_best": ratio("wall", min, name),
                "wall_median": ratio("wall", statistics.median, name),
                "cpu_best": ratio("cpu", min, name),
                "cpu_median": ratio("cpu", statistics.median, name),
            }
            for name in cmds
            if name != "scenedetect"
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k.endswith("_over_scenedetect")}))


if __name__ == "__main__":
    main()
