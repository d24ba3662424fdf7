"""Difficulty before vs after, side by side in one run, on the tasks of a curated dataset.

    .venv/bin/python benchmarks/difficulty_policy.py DATASET [--k 4] [--max-new-tokens 48] [--limit 12]

Four estimates of the same tasks with the embedded policy: the old path (transformers fp32, `<think>` prefill,
all K samples), the same prompt on CTranslate2 int8, the answer-primed prompt with all K, and the new default
(CTranslate2, answer-primed prompt, early stopping). Prints one JSON object: per run the bucket counts (what the
keep rule decides on), a difficulty histogram, samples drawn, wall time, and the policy recorded with the estimates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curation.difficulty import DifficultyConfig, DifficultyStage, bucket  # noqa: E402
from curation.llm.base import GenRequest, GenResult, LLMBackend, Settle  # noqa: E402
from curation.llm.ct2_backend import CT2Backend  # noqa: E402
from curation.llm.transformers_backend import TransformersBackend  # noqa: E402
from curation.views import load_views  # noqa: E402
from schemas import TaskRecord, from_arrow  # noqa: E402
from schemas.store import Dataset  # noqa: E402


class Counting(LLMBackend):
    """Counts the samples and generated tokens that go through a backend."""

    def __init__(self, inner: LLMBackend) -> None:
        self.inner, self.model_id = inner, inner.model_id
        self.samples = self.tokens = 0

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        out = self.inner.generate(requests)
        self.samples += len(out)
        self.tokens += sum(r.tokens for r in out)
        return out

    def sample(self, requests: list[GenRequest], k: int, settle: Settle | None = None) -> list[list[GenResult]]:
        out = self.inner.sample(requests, k, settle)
        self.samples += sum(len(rs) for rs in out)
        self.tokens += sum(r.tokens for rs in out for r in rs)
        return out


def estimate(name: str, backend: LLMBackend, cfg: DifficultyConfig, tasks: list[TaskRecord], views: Any) -> dict:
    counting = Counting(backend)
    stage = DifficultyStage(counting, cfg)
    t0 = time.perf_counter()
    found = stage.estimate(tasks, views)
    wall = time.perf_counter() - t0
    hist = Counter(f"{d.difficulty:.2f}" for d in found)
    return {
        "run": name,
        "policy": stage.policy,
        "buckets": dict(Counter(bucket(d.correct, d.samples) for d in found)),
        "difficulty_histogram": dict(sorted(hist.items())),
        "difficulty_1.0": sum(d.difficulty == 1.0 for d in found),
        "kept_by_default_rule": sum(stage.keep(d) is None for d in found),
        "samples": counting.samples,
        "tokens": counting.tokens,
        "wall_s": round(wall, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=48, help="per sample with the <think> prefill")
    ap.add_argument("--limit", type=int, default=12, help="at most this many tasks")
    ap.add_argument("--skip-transformers", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the answer-primed pair (all K, early stop)")
    args = ap.parse_args()
    views = load_views(args.dataset)
    tasks = [t for t in from_arrow("tasks", Dataset(args.dataset).read("tasks")) if t.video_id in views]
    tasks = tasks[: args.limit]
    old = DifficultyConfig(k=args.k, max_new_tokens=args.max_new_tokens, prime="think", early_stop=False)
    new = DifficultyConfig(k=args.k, max_new_tokens=args.max_new_tokens)
    ct2 = CT2Backend(batch_size=8)
    runs = []
    if not args.skip_transformers:
        hf = TransformersBackend(batch_size=8)
        runs.append(estimate("before: transformers, <think> prefill, all K", hf, old, tasks, views))
        hf.close()
    runs.append(estimate("ctranslate2, <think> prefill, all K", ct2, old, tasks, views))
    # early stopping on and off, interleaved `--repeat` times (the machine's load drifts between runs)
    all_k = new.model_copy(update={"early_stop": False})
    for _ in range(args.repeat):
        runs.append(estimate("ctranslate2, answer-primed, all K", ct2, all_k, tasks, views))
        runs.append(estimate("after: ctranslate2, answer-primed, early stop", ct2, new, tasks, views))
    walls: dict[str, list[float]] = {}
    for r in runs:
        walls.setdefault(r["run"], []).append(r["wall_s"])
    ct2.close()
    types = dict(Counter(t.problem_type for t in tasks))
    out = {"dataset": str(args.dataset), "tasks": len(tasks), "problem_types": types, "k": args.k, "runs": runs,
           "median_wall_s": {k: statistics.median(v) for k, v in walls.items()}}  # fmt: skip
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
