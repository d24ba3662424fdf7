"""Embedded LLM throughput: generated tokens/s for N prompts batched vs one at a time, in the same run.

    .venv/bin/python benchmarks/llm_throughput.py [--prompts 8] [--max-new-tokens 32] [--threads 1]

Prints one JSON object. Greedy decoding, so both modes produce the same text and the comparison is fair; the
prompts are drafting-style (a short text view and a question), as the draft stage sends them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curation.llm.base import GenRequest  # noqa: E402
from curation.llm.transformers_backend import TransformersBackend  # noqa: E402
from schemas import Message  # noqa: E402

SUBJECTS = ["a red car", "two people", "a dog on grass", "a blue sign", "a bus", "a cat", "a bicycle", "a clock"]


def prompts(n: int) -> list[str]:
    """n short drafting-style prompts with different lengths (so batching pays for padding)."""
    out = []
    for i in range(n):
        shots = "\n".join(
            f"Shot {k + 1} [{4.0 * k:.2f}–{4.0 * (k + 1):.2f}s]: {SUBJECTS[(i + k) % len(SUBJECTS)]}"
            for k in range(2 + i % 3)
        )
        out.append(f"Video: {4.0 * (2 + i % 3):.2f}s long.\nShots:\n{shots}\n\nQuestion: What is seen in shot 2?")
    return out


def run(backend: TransformersBackend, reqs: list[GenRequest], batched: bool) -> dict[str, float]:
    t0 = time.perf_counter()
    results = backend.generate(reqs) if batched else [backend.generate([r])[0] for r in reqs]
    wall = time.perf_counter() - t0
    tokens = sum(r.tokens for r in results)
    return {"wall_s": round(wall, 3), "tokens": tokens, "tokens_per_s": round(tokens / wall, 2),
            "errors": sum(not r.ok for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    backend = TransformersBackend(batch_size=args.prompts, torch_threads=args.threads)
    load_s = time.perf_counter() - t0
    reqs = [GenRequest([Message("user", p)], max_new_tokens=args.max_new_tokens) for p in prompts(args.prompts)]
    backend.generate(reqs[:1])  # warm-up: first call pays one-off allocation costs
    single = run(backend, reqs, batched=False)
    batched = run(backend, reqs, batched=True)
    print(json.dumps({
        "model": backend.model_id,
        "prompts": args.prompts,
        "max_new_tokens": args.max_new_tokens,
        "torch_threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_avg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "machine": platform.processor() or platform.machine(),
        "load_s": round(load_s, 2),
        "one_at_a_time": single,
        "batched": batched,
        "speedup": round(batched["tokens_per_s"] / max(single["tokens_per_s"], 1e-9), 2),
    }, indent=2))


if __name__ == "__main__":
    main()
