"""Embedded LLM throughput side by side in one run: CTranslate2 int8 and transformers fp32, each one prompt at a
time vs batched, on the same prompts; and K samples per prompt (pass@K-style, task-length prompts) drawn one at a
time, as K batched requests, or from one prompt encoding (CTranslate2 `num_hypotheses`); and several questions
on each view (how difficulty sees one video's tasks) with the view's opening shared (one cached encoding) or each
prompt encoded whole.

    .venv/bin/python benchmarks/llm_throughput.py [--prompts 8] [--max-new-tokens 32] [--threads 1] [--k 4]

Prints one JSON object. Greedy decoding for the one-at-a-time/batched comparison, so both modes produce the same
text and the comparison is fair (CTranslate2 int8 may still differ in a few tokens between a batch and a single
prompt); the prompts are drafting-style (a short text view and a question), as the draft stage sends them. Goal:
batched ≥ 3× one at a time. On a CPU the prompt's encoding is a large share of short replies, and it costs the same
batched or not, so the batched gain grows with the reply length (try --max-new-tokens 64). `ct2_full_batch_ceiling`
is batching's best case on the machine: every reply forced to exactly --max-new-tokens tokens, so no row ends before
the others (once with the benchmark's prompts, once with one prompt repeated); the gap between it and `speedup` is
what the replies' uneven ends cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curation.llm import ct2_backend  # noqa: E402
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


def long_prompts(n: int) -> list[str]:
    """n task-style prompts of a few hundred tokens (a shot list and a transcript, as pass@K sends them)."""
    out = []
    for i in range(n):
        shots = "\n".join(
            f"Shot {k + 1} [{3.0 * k:.2f}–{3.0 * (k + 1):.2f}s]: {SUBJECTS[(i + k) % len(SUBJECTS)]} in the frame"
            for k in range(10 + i)
        )
        said = " ".join(f"[{3.0 * k:.1f}s] we see {SUBJECTS[(i * 3 + k) % len(SUBJECTS)]}." for k in range(10))
        out.append(f"Shots:\n{shots}\nTranscript: {said}\n\nQuestion: In which shot is the clock seen first?\n"
                   "Answer format: a shot number.")  # fmt: skip
    return out


QUESTIONS = ("In which shot is the clock seen first?", "How many shots show a bus?", "Is a cat ever seen?",
             "What is said at 6.0s?")  # fmt: skip


def shared_view_requests(views: int, answer_tokens: int) -> list[GenRequest]:
    """Several questions on each of `views` task-style views (as one video's tasks reach difficulty), answer-length
    replies sampled at temperature 0.8."""
    return [GenRequest([Message("user", view.rsplit("Question:", 1)[0] + f"Question: {q}")], answer_tokens,
                       temperature=0.8, seed=0) for view in long_prompts(views) for q in QUESTIONS]  # fmt: skip


def shared_opening(backend: CT2Backend, reqs: list[GenRequest], k: int, repeats: int = 2) -> dict[str, object]:
    """K samples of every request with views' openings shared (encoded once, cached) vs each prompt encoded whole,
    alternating; best wall time of each."""
    default = ct2_backend.MIN_SHARED
    walls: dict[str, list[float]] = {"shared": [], "whole": []}
    try:
        for i in range(repeats):
            for mode in ("shared", "whole") if i % 2 == 0 else ("whole", "shared"):
                ct2_backend.MIN_SHARED = default if mode == "shared" else 10**9
                t0 = time.perf_counter()
                backend.sample(reqs, k)
                walls[mode].append(round(time.perf_counter() - t0, 3))
    finally:
        ct2_backend.MIN_SHARED = default
    best = {m: min(w) for m, w in walls.items()}
    return {"requests": len(reqs), "k": k, "wall_s": walls, "speedup": round(best["whole"] / best["shared"], 2)}


def _stats(wall: float, results: list) -> dict[str, float]:
    tokens = sum(r.tokens for r in results)
    return {"wall_s": round(wall, 3), "tokens": tokens, "tokens_per_s": round(tokens / wall, 2),
            "samples_per_s": round(len(results) / wall, 3), "errors": sum(not r.ok for r in results)}  # fmt: skip


def run(backend: LLMBackend, reqs: list[GenRequest], batched: bool) -> tuple[dict[str, float], list[str]]:
    t0 = time.perf_counter()
    results = backend.generate(reqs) if batched else [backend.generate([r])[0] for r in reqs]
    return _stats(time.perf_counter() - t0, results), [r.text for r in results]


def run_samples(backend: LLMBackend, reqs: list[GenRequest], k: int, mode: str) -> dict[str, float]:
    """K sampled replies per prompt: `shared` (`sample`: one prompt encoding, K hypotheses, prompts batched),
    `k_requests` (the generic `LLMBackend.sample`: K requests per prompt, batched) or `one_at_a_time`."""
    t0 = time.perf_counter()
    if mode == "shared":
        results = [r for rs in backend.sample(reqs, k) for r in rs]
    elif mode == "k_requests":
        results = [r for rs in LLMBackend.sample(backend, reqs, k) for r in rs]
    else:
        results = [backend.generate([replace(r, seed=j)])[0] for r in reqs for j in range(k)]
    return _stats(time.perf_counter() - t0, results)


def ceiling(backend: CT2Backend, reqs: list[GenRequest], n: int) -> dict[str, object]:
    """Batching's best case on this machine: every reply exactly `n` tokens (CTranslate2 `min_length`), so no row
    ends before the others, for the benchmark's prompts and for the first prompt repeated (no two prompts differ in
    length either). tok/s batched over one at a time, greedy."""
    gen, toks = backend.generator, backend.prompt_tokens

    def timed(batch: list[list[str]]) -> float:
        t0 = time.perf_counter()
        gen.generate_batch(batch, max_length=n, min_length=n, include_prompt_in_result=False, sampling_topk=1)
        return time.perf_counter() - t0

    out: dict[str, object] = {"new_tokens": n}
    for case, prompts_ in (("uneven_prompts", [toks(r) for r in reqs]), ("equal_prompts", [toks(reqs[0])] * len(reqs))):
        single = sum(timed([t]) for t in prompts_)
        batched = timed(prompts_)
        out[case] = {"prompt_tokens": sorted(len(t) for t in prompts_), "one_at_a_time_s": round(single, 3),
                     "batched_s": round(batched, 3), "speedup": round(single / batched, 2)}  # fmt: skip
    return out


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
    ap.add_argument("--k-prompts", type=int, default=4, help="prompts for the shared-prompt comparison")
    args = ap.parse_args()
    reqs = [GenRequest([Message("user", p)], max_new_tokens=args.max_new_tokens) for p in prompts(args.prompts)]
    sampled = [GenRequest([Message("user", p)], args.max_new_tokens, temperature=0.8, seed=0)
               for p in long_prompts(args.k_prompts)]  # fmt: skip
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
    # pass@K-style sampling: K replies per prompt, from one prompt encoding vs K requests vs one at a time
    ct2 = backends["ctranslate2"]
    assert isinstance(ct2, CT2Backend)
    modes = {m: run_samples(ct2, sampled, args.k, m) for m in ("one_at_a_time", "k_requests", "shared")}
    base = max(modes["one_at_a_time"]["samples_per_s"], 1e-9)
    out["ct2_k_samples"] = {
        "k": args.k, "prompts": len(sampled), "prompt_tokens": [len(ct2.tokenizer(ct2.prompt_text(r))["input_ids"])
        for r in sampled], **modes,
        "samples_per_s_vs_one_at_a_time": {m: round(v["samples_per_s"] / base, 2) for m, v in modes.items()},
    }  # fmt: skip
    # batching's best case: no row ends early
    out["ct2_full_batch_ceiling"] = ceiling(ct2, reqs, args.max_new_tokens)
    # several questions per view, answer-length replies (the difficulty stage): openings shared or encoded whole
    out["ct2_shared_view"] = shared_opening(ct2, shared_view_requests(args.k_prompts, 24), 2)
    out["load_avg_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for b in backends.values():
        b.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
