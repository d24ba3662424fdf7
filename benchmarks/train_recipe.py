"""The CPU recipe, measured: eval base → SFT → eval → GRPO → eval, on the embedded SmolLM2-135M.

    .venv/bin/python benchmarks/train_recipe.py --work /tmp/recipe --out benchmarks/results/train_recipe.json

Without ``--data`` it builds a synthetic text-view pool (`trainers.synthetic`: ~200 train tasks, held-out test
videos). Writes one JSON document: the settings, each stage's wall time, eval metrics after each stage (format
rate, accuracy, held-out reward, per type, temporal IoU), and the GRPO reward/accuracy trend over windows of
steps. A benchmark, not a timed test: numbers depend on the machine and on how busy it is.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from output import write_json  # noqa: E402  (benchmarks/, the script's folder)

from trainers.config import EvalSettings, GrpoSettings, SftSettings, default_threads  # noqa: E402
from trainers.evaluate import evaluate  # noqa: E402
from trainers.grpo import train_grpo  # noqa: E402
from trainers.sft import train_sft  # noqa: E402
from trainers.synthetic import build_pool  # noqa: E402

log = logging.getLogger("train_recipe")


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of an eval result, per condition."""
    out: dict[str, Any] = {"format_rate": result["format_rate"], "accuracy": result["accuracy"],
                           "reward": result["reward"], "conditions": {}}  # fmt: skip
    for name, c in result["conditions"].items():
        out["conditions"][name] = {
            k: c[k]
            for k in ("items", "format_rate", "accuracy", "reward", "mean_tiou", "recall_at_iou",
                      "accuracy_by_type", "tokens_per_item", "seconds_per_item")
        }  # fmt: skip
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="dataset with sft and rl pools (default: build a synthetic one)")
    p.add_argument("--work", type=Path, required=True, help="scratch directory for the pool and runs")
    p.add_argument("--out", type=Path, help="write the JSON result here too")
    p.add_argument("--videos", type=int, default=62, help="synthetic videos (4 tasks each; 20%% held out)")
    p.add_argument("--sft-steps", type=int, default=25)
    p.add_argument("--sft-batch", type=int, default=8)
    p.add_argument("--grpo-steps", type=int, default=20)
    p.add_argument("--grpo-batch", type=int, default=8, help="completions per step (prompts × generations)")
    p.add_argument("--num-generations", type=int, default=4)
    p.add_argument("--grpo-lr", type=float, default=2e-6)
    p.add_argument("--variant", default="grpo", choices=("grpo", "t-grpo", "dgrpo"))
    p.add_argument("--eval-limit", type=int, default=48)
    p.add_argument("--eval-split", default="test", help="held-out split(s) to score, comma-separated (val,test)")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--subtitles", default="both", choices=("with", "without", "both"))
    p.add_argument("--threads", type=int, default=default_threads())
    p.add_argument("--skip-grpo", action="store_true", help="stop after the SFT eval")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    args.work.mkdir(parents=True, exist_ok=True)
    data = args.data
    doc: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                           "settings": vars(args) | {"work": str(args.work), "data": str(data),
                                                     "out": str(args.out)}, "stages": {}}  # fmt: skip
    if data is None:
        data = args.work / "pool"
        shutil.rmtree(data, ignore_errors=True)
        doc["pool"] = build_pool(data, videos=args.videos, seed=0)
    ev = EvalSettings(split=args.eval_split, limit=args.eval_limit, max_new_tokens=args.max_new_tokens,
                      subtitles=args.subtitles, threads=args.threads)  # fmt: skip

    def stage(name: str, fn: Any) -> Any:
        started = time.perf_counter()
        result = fn()
        doc["stages"][name] = {"seconds": round(time.perf_counter() - started, 1)}
        log.info("%s: %.0f s", name, doc["stages"][name]["seconds"])
        return result

    def save() -> None:
        write_json(doc, args.work / "train_recipe.json", args.out)

    doc["eval_base"] = summary(stage("eval_base", lambda: evaluate(None, data, ev)))
    save()
    sft_run = args.work / "sft"
    shutil.rmtree(sft_run, ignore_errors=True)
    sft = SftSettings(max_steps=args.sft_steps, batch_size=args.sft_batch, threads=args.threads,
                      learning_rate=5e-5, logging_steps=1)  # fmt: skip
    record = stage("sft", lambda: train_sft(data, sft_run, sft))
    doc["sft"] = {"steps": record["steps"], "train_loss": record["train_loss"], "loss_windows": record["loss_windows"]}
    doc["eval_sft"] = summary(stage("eval_sft", lambda: evaluate(str(sft_run), data, ev)))
    save()
    if not args.skip_grpo:
        grpo_run = args.work / f"grpo-{args.variant}"
        shutil.rmtree(grpo_run, ignore_errors=True)
        grpo = GrpoSettings(model=str(sft_run), variant=args.variant, max_steps=args.grpo_steps,
                            batch_size=args.grpo_batch, num_generations=args.num_generations,
                            max_completion_length=args.max_new_tokens, learning_rate=args.grpo_lr,
                            threads=args.threads)  # fmt: skip
        record = stage("grpo", lambda: train_grpo(data, grpo_run, grpo))
        doc["grpo"] = {k: record[k] for k in ("steps", "prompts_per_step", "reward_windows", "accuracy_windows")}
        doc["eval_grpo"] = summary(stage("eval_grpo", lambda: evaluate(str(grpo_run), data, ev)))
    doc["total_seconds"] = round(sum(s.get("seconds", 0) for s in doc["stages"].values()), 1)
    save()
    print(json.dumps({k: doc[k] for k in doc if k.startswith("eval_")} | {"stages": doc["stages"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
