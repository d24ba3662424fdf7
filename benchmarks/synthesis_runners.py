"""Synthesis wall time (draft + refine + difficulty) on the thread runner and on Dask, from the same perception.

    nice -n 10 .venv/bin/python -m benchmarks.synthesis_runners [--clips a.mp4 b.mp4] [--set key=value ...]

Perception runs once (threads, `--until evidence`); its dataset is copied for each runner, so each run computes
every collection stage afresh from the same inputs. Prints one JSON object: per runner the stage wall times and
their sum, the load average before and after, and whether the cot, rl and sft rows are equal between the runs
(provenance aside). Uses configs/demo.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from flows.config import load_config
from flows.curate import run_curate
from schemas.store.query import connect

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ("cuts_narrated.mp4", "onscreen_text.mp4", "shapes.mp4")
RUNNERS = {"threads, 1 worker": ["run.workers=1"], "dask, 2 workers": ["run.runner=dask", "run.workers=2"]}
TIMED = ("draft", "refine", "difficulty")
TABLES = ("cot", "rl", "sft")


def rows(dataset: Path, table: str) -> list[str]:
    """Every row of `table` but its provenance, as sorted text."""
    data = connect(dataset).sql(f"SELECT * FROM {table}").to_arrow_table()
    if "provenance" in data.column_names:
        data = data.drop_columns(["provenance"])
    return sorted(repr(tuple(r.values())) for r in data.to_pylist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), help="sample clips (curation.samples)")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides, key=value")
    args = parser.parse_args()
    from curation.samples import build_samples
    from trainers.embedded import cache_root

    samples = cache_root() / "samples"
    build_samples(samples)
    out: dict[str, Any] = {"clips": args.clips, "set": args.set, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="synth_runners_") as tmp:
        work = Path(tmp)
        inputs = work / "inputs"
        inputs.mkdir()
        for name in args.clips:
            shutil.copy(samples / name, inputs / name)
        paths = sorted(inputs.iterdir())
        demo = ROOT / "configs" / "demo.yaml"
        base = work / "perception"
        run_curate(paths, base, load_config(demo, args.set), until="evidence", show_progress=False, card=False)
        datasets = {}
        for label, overrides in RUNNERS.items():
            ds = work / label.replace(", ", "_").replace(" ", "_")
            shutil.copytree(base, ds)
            load_before = os.getloadavg()
            t0 = time.perf_counter()
            summary = run_curate(
                paths, ds, load_config(demo, [*args.set, *overrides]), until="pools", show_progress=False, card=False
            )
            assert summary.synthesis is not None
            walls = {s: round(summary.synthesis.stage_wall.get(s, 0.0), 2) for s in TIMED}
            out["runs"][label] = {
                "stage_wall_s": walls,
                "synthesis_s": round(sum(walls.values()), 2),
                "curate_call_s": round(time.perf_counter() - t0, 2),
                "ran": dict(summary.synthesis.ran),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            }
            datasets[label] = ds
        a, b = (datasets[k] for k in RUNNERS)
        out["rows_equal"] = {t: rows(a, t) == rows(b, t) for t in TABLES}
        out["rows"] = {t: len(rows(a, t)) for t in TABLES}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
