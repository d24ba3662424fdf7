"""Embedded LLM throughput side by side in one run: CTranslate2 int8 and transformers fp32, each one prompt at a
time vs batched, on the same prompts; and K samples per prompt drawn from one prompt encoding vs K requests.

    .venv/bin/python benchmarks/llm_throughput.py [--prompts 8] [--max-new-tokens 32] [--threads 1] [--k 4]

Prints one JSON object. Greedy decoding for the one-at-a-time/batched comparison, so both modes produce the same
text and the comparison is fair; the prompts are drafting-style (a short text view and a question), as the draft
stage sends them. Goal: batched ≥ 3× one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curation.llm.base import GenRequest, LLMBackend  # noqa: E402
from curation.llm.ct2_backend import CT2Backend  # noqa: E402
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


def _stats(wall: float, results: list, texts: list[str] | None = None) -> dict[str, float]:
    tokens = sum(r.tokens for r in results)
    return {"wall_s": round(wall, 3), "tokens": tokens, "tokens_per_s": round(tokens / wall, 2),
            "errors": sum(not r.ok for r in results)}  # fmt: skip


def run(backend: LLMBackend, reqs: list[GenRequest], batched: bool) -> tuple[dict[str, float], list[str]]:
    t0 = time.perf_counter()
    results = backend.generate(reqs) if batched else [backend.generate([r])[0] for r in reqs]
    return _stats(time.perf_counter() - t0, results), [r.text for r in results]


def run_samples(backend: LLMBackend, reqs: list[GenRequest], k: int, shared: bool) -> dict[str, float]:
    """K sampled replies per prompt: `sample` (one prompt encoding, K hypotheses) or K separate requests."""
    t0 = time.perf_counter()
    # the generic path (LLMBackend.sample) sends k requests per prompt
    grouped = backend.sample(reqs, k) if shared else LLMBackend.sample(backend, reqs, k)
    results = [r for rs in grouped for r in rs]
    return _stats(time.perf_counter() - t0, results)


def compare(backend: LLMBackend, reqs: list[GenRequest]) -> dict[str, object]:
    backend.generate(reqs[:1])  # warm-up: first call pays one-off allocation costs
    single, single_text = run(backend, reqs, batched=False)
    batched, batched_text = run(backend, reqs, batched=True)
    return {
        "model": backend.model_id,
        "one_at_a_time": single,
        "batched": batched,
        "speedup": round(batched["tokens_per_s"] / max(single["tokens_per_s"], 1e-9), 2),
        "same_text_batched_vs_single": sum(a == b for a, b in zip(single_text, batched_text, strict=True)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--k", type=int, default=4, help="samples per prompt for the shared-prompt comparison")
    args = ap.parse_args()
    reqs = [GenRequest([Message("user", p)], max_new_tokens=args.max_new_tokens) for p in prompts(args.prompts)]
    sampled = [GenRequest(r.messages, args.max_new_tokens, temperature=0.8, seed=0) for r in reqs[:2]]
    out: dict[str, object] = {
        "prompts": args.prompts, "max_new_tokens": args.max_new_tokens, "threads": args.threads,
        "cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "machine": platform.processor() or platform.machine(),
    }  # fmt: skip
    backends: dict[str, LLMBackend] = {}
    for name, make in (
        ("ctranslate2", lambda: CT2Backend(batch_size=args.prompts, intra_threads=args.threads)),
        ("transformers", lambda: TransformersBackend(batch_size=args.prompts, torch_threads=args.threads)),
    ):
        t0 = time.perf_counter()
        backends[name] = make()
        load_s = time.perf_counter() - t0
        out[name] = {"load_s": round(load_s, 2), **compare(backends[name], reqs)}
    ct2, hf = out["ctranslate2"], out["transformers"]
    assert isinstance(ct2, dict) and isinstance(hf, dict)
    out["ct2_vs_transformers_one_at_a_time"] = round(
        ct2["one_at_a_time"]["tokens_per_s"] / max(hf["one_at_a_time"]["tokens_per_s"], 1e-9), 2
    )
    out["ct2_vs_transformers_batched"] = round(
        ct2["batched"]["tokens_per_s"] / max(hf["batched"]["tokens_per_s"], 1e-9), 2
    )
    # pass@K-style sampling: K replies per prompt, from one prompt encoding vs K requests (same backend)
    one = run_samples(backends["ctranslate2"], sampled, args.k, shared=True)
    many = run_samples(backends["ctranslate2"], sampled, args.k, shared=False)
    out["ct2_k_samples"] = {"k": args.k, "prompts": len(sampled), "shared_prompt": one, "k_requests": many,
                            "speedup": round(one["tokens_per_s"] / max(many["tokens_per_s"], 1e-9), 2)}  # fmt: skip
    out["load_avg_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for b in backends.values():
        b.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
