"""Does curation help? SFT on (a) every drafted chain, (b) the accepted chains, (c) skeleton chains only — same
base model, steps and seed — then GRPO from the best SFT model; every model scored on a fixed held-out set.

    # 1. the held-out set, once (versioned: benchmarks/heldout/v1.jsonl; see benchmarks/heldout/README.md)
    .venv/bin/python benchmarks/ablation.py heldout --data HELDOUT_DS --out benchmarks/heldout/v1.jsonl
    # 2. the ablation
    .venv/bin/python benchmarks/ablation.py run --llm-data TRAIN_DS --skeleton-data TRAIN_SKELETON_DS \\
        --work /tmp/ablation --out benchmarks/results/ablation.json

TRAIN_DS is curated with LLM drafting (`draft.mode=rationale`): its `cot` table keeps every draft beside its
refined text, accepted flag and reject reason. TRAIN_SKELETON_DS is the same videos curated with
`draft.mode=skeleton`, `draft.polish=false` (chains written in code from the evidence). Variant (a) takes every
non-empty `cot.draft` of TRAIN_DS as it was drafted (no refinement, no checks); (b) the accepted chains of TRAIN_DS
(refined text, exactly the `sft` pool); (c) the accepted `source = skeleton` chains of TRAIN_SKELETON_DS. Every
row's prompt is its task's `rl` prompt (the one the pools stage builds), so the variants differ only in the
assistant turn. No training video may be a held-out video (checked by content hash).

Scoring is `trainers.evaluate.score` and `trainers.rewards.answer_score` (the eval command's); generation is greedy
with CTranslate2 int8 (each trained model converted once), several times faster than transformers on this CPU.
Every accuracy gets a 95% bootstrap interval over items, and (b) − (a) a paired one (`trainers.bootstrap`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from output import write_json  # noqa: E402  (benchmarks/, the script's folder)

from curation.checks.base import chain_text  # noqa: E402
from curation.llm.base import GenRequest  # noqa: E402
from curation.llm.ct2_backend import CT2Backend  # noqa: E402
from data_cards.effect import EFFECT_FILE  # noqa: E402
from schemas import CotRecord, Message, SftRecord  # noqa: E402
from schemas.store import Dataset, DatasetWriter  # noqa: E402
from trainers.bootstrap import bootstrap_mean, paired_difference  # noqa: E402
from trainers.config import GrpoSettings, SftSettings, default_threads  # noqa: E402
from trainers.evaluate import score  # noqa: E402
from trainers.models import FINAL, resolve_model  # noqa: E402
from trainers.prompts import strip_subtitles  # noqa: E402
from trainers.rewards import answer_score, parse_completion  # noqa: E402
from trainers.runs import RECORD  # noqa: E402

KEY_FILE = "ablation_settings.key"  # the settings_key a finished run was trained with

log = logging.getLogger("ablation")
VARIANTS = {"a": "every drafted chain (no refinement, no checks)", "b": "accepted chains",
            "c": "skeleton chains only"}  # fmt: skip
CONDITIONS = ("with_subtitles", "without_subtitles")


# ---- the held-out set ----------------------------------------------------------------------------------------


def write_heldout(data: Path, out: Path) -> dict[str, Any]:
    """Every `rl` row of a curated dataset (all splits) as one JSON line: ids, the video's content hash and file
    name, the prompt as the model sees it, the verifiable answer, and whether the transcript alone answers it."""
    ds = Dataset(data)
    files = {r["video_id"]: Path(r["path"]).name for r in ds.read("videos", ["video_id", "path"]).to_pylist()}
    leak = {r["task_id"]: bool(r["subtitle_leak"]) for r in ds.read("tasks", ["task_id", "subtitle_leak"]).to_pylist()}
    rows = sorted(ds.read("rl").to_pylist(), key=lambda r: (files[r["video_id"]], r["task_id"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for r in rows:
            item = {"sample_id": r["sample_id"], "task_id": r["task_id"], "video_id": r["video_id"],
                    "video_file": files[r["video_id"]], "problem_type": r["problem_type"],
                    "solution": r["solution"], "options": list(r["options"] or []),
                    "subtitle_leak": leak.get(r["task_id"], False),
                    "prompt": [{"role": m["role"], "content": m["content"]} for m in r["prompt"]]}  # fmt: skip
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    summary = {"items": len(rows), "videos": len({r["video_id"] for r in rows}),
               "by_type": dict(Counter(r["problem_type"] for r in rows))}  # fmt: skip
    log.info("held-out set: %s -> %s", summary, out)
    return summary


def read_heldout(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"ablation: held-out file {path} not found (make it with `ablation.py heldout`)")
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return items[:limit] if limit else items


# ---- the variant pools ----------------------------------------------------------------------------------------


def _cots(data: Path) -> list[CotRecord]:
    return [CotRecord(**{k: v for k, v in r.items() if k in CotRecord.__dataclass_fields__})
            for r in Dataset(data).read("cot").to_pylist()]  # fmt: skip


def _prompts(data: Path) -> dict[str, dict[str, Any]]:
    """task_id → its rl row (prompt, video, problem type)."""
    return {r["task_id"]: r for r in Dataset(data).read("rl").to_pylist()}


def variant_chains(
    llm_data: Path, skeleton_data: Path, wanted: list[str]
) -> dict[str, list[tuple[dict[str, Any], str]]]:
    """Per wanted variant, (rl row, assistant text) pairs; see the module docstring for what each variant takes."""
    out: dict[str, list[tuple[dict[str, Any], str]]] = {}
    if {"a", "b"} & set(wanted):
        llm_rl, llm_cots = _prompts(llm_data), _cots(llm_data)
        out["a"] = [(llm_rl[c.task_id], c.draft) for c in llm_cots if c.task_id in llm_rl and c.draft.strip()]
        out["b"] = [(llm_rl[c.task_id], chain_text(c)) for c in llm_cots if c.task_id in llm_rl and c.accepted]
    if "c" in wanted:
        skel_rl, skel_cots = _prompts(skeleton_data), _cots(skeleton_data)
        out["c"] = [(skel_rl[c.task_id], chain_text(c)) for c in skel_cots
                    if c.task_id in skel_rl and c.accepted and c.source == "skeleton"]  # fmt: skip
    return out


def write_pool(root: Path, chains: list[tuple[dict[str, Any], str]]) -> int:
    """A dataset with just an `sft` table (split train) of the given prompts and chains."""
    shutil.rmtree(root, ignore_errors=True)
    rows = []
    for i, (rl, text) in enumerate(chains):
        prompt = [Message(m["role"], m["content"]) for m in rl["prompt"]]
        rows.append(SftRecord(sample_id=f"{rl['task_id']}-{i}", task_id=rl["task_id"], video_id=rl["video_id"],
                              split="train", problem_type=rl["problem_type"],
                              messages=[*prompt, Message("assistant", text)], video_path=rl["video_path"],
                              keyframe_ids=list(rl.get("keyframe_ids") or [])))  # fmt: skip
    with DatasetWriter(root) as w:
        w.append("sft", rows)
        w.commit(config={"ablation_pool": str(root.name)})
    return len(rows)


def chain_stats(chains: list[tuple[dict[str, Any], str]]) -> dict[str, Any]:
    """What a variant trains on: rows, tasks, videos, types, and how often its chain's answer is the silver one."""
    right = [answer_score(parse_completion(t).answer, rl["solution"], rl["problem_type"], rl["options"])
             for rl, t in chains]  # fmt: skip
    return {"rows": len(chains), "tasks": len({rl["task_id"] for rl, _ in chains}),
            "videos": len({rl["video_id"] for rl, _ in chains}),
            "by_type": dict(Counter(rl["problem_type"] for rl, _ in chains)),
            "answer_matches_label": round(sum(right) / len(right), 4) if right else None,
            "well_formed": round(sum(parse_completion(t).well_formed for _, t in chains) / max(1, len(chains)), 4),
            "mean_chars": round(sum(len(t) for _, t in chains) / max(1, len(chains)), 1)}  # fmt: skip


# ---- evaluation ---------------------------------------------------------------------------------------------


def evaluate_condition(
    backend: CT2Backend, items: list[dict[str, Any]], cond: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Greedy completions (CTranslate2 int8) for one condition, scored with the eval command's code; per-item
    accuracy kept for the bootstraps."""
    prompts = [it["prompt"] if cond == "with_subtitles" else strip_subtitles(it["prompt"]) for it in items]
    reqs = [GenRequest([Message(m["role"], m["content"]) for m in p], max_new_tokens=args.max_new_tokens)
            for p in prompts]  # fmt: skip
    t0 = time.perf_counter()
    texts = [r.text for r in backend.generate(reqs)]
    seconds = time.perf_counter() - t0
    metrics = score(items, [[t] for t in texts])
    per_item = [answer_score(parse_completion(t).answer, it["solution"], it["problem_type"], it["options"])
                for it, t in zip(items, texts, strict=True)]  # fmt: skip
    assert abs(sum(per_item) / len(per_item) - metrics["accuracy"]) < 1e-9
    ci = bootstrap_mean(per_item, args.resamples, args.seed)
    log.info("%s: accuracy %.3f [%.3f, %.3f], format %.2f, %.2f s/item", cond, metrics["accuracy"], ci.low, ci.high,
             metrics["format_rate"], seconds / len(items))  # fmt: skip
    return {"items": len(items), "accuracy": round(metrics["accuracy"], 4),
            "accuracy_ci95": [round(ci.low, 4), round(ci.high, 4)], "format_rate": round(metrics["format_rate"], 4),
            "reward": round(metrics["reward"], 4), "mean_tiou": metrics["mean_tiou"],
            "accuracy_by_type": metrics["accuracy_by_type"], "seconds": round(seconds, 1),
            "seconds_per_item": round(seconds / len(items), 3), "per_item": per_item,
            "examples": [{"sample_id": it["sample_id"], "completion": t}
                         for it, t in list(zip(items, texts, strict=True))[:2]]}  # fmt: skip


def settings_key(settings: Any, data: Any = None) -> str:
    """A hash of a run's full training settings and of what it trains on (any JSON-able description of it)."""
    blob = {"settings": settings.model_dump(mode="json") if hasattr(settings, "model_dump") else settings, "data": data}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


def manifest_hash(data: Path) -> str:
    """A curated dataset's identity: the hash of its manifest (every shard's hash)."""
    return hashlib.sha256((data / "manifest.json").read_bytes()).hexdigest()


def trained(run_dir: Path, train: Any, key: str) -> dict[str, Any]:
    """The run record of a finished run in ``run_dir`` made with the same settings and data (``key``,
    `settings_key`) — reused, so the ablation can be run in parts — or a fresh run by ``train(run_dir)``: a run
    with other settings is retrained, never reused."""
    record, stamp = run_dir / RECORD, run_dir / KEY_FILE
    if (run_dir / FINAL).is_dir() and record.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        log.info("reusing the finished run in %s (settings %s)", run_dir, key)
        return dict(json.loads(record.read_text()))
    shutil.rmtree(run_dir, ignore_errors=True)
    out = dict(train(run_dir))
    stamp.write_text(key + "\n")
    return out


def model_hash(path: Path | None) -> str:
    """A hash of a model's weight files (the embedded model: its name), so a cached score names its model."""
    if path is None:
        return "embedded"
    files = sorted(p for p in Path(path).rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin"))
    h = hashlib.sha256()
    for f in files:
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()[:16] if files else f"path:{path}"


def evaluated(model: str | None, items: list[dict[str, Any]], args: argparse.Namespace, name: str) -> dict[str, Any]:
    """The model scored in each of ``args.conditions``; each condition cached in the work folder by model name,
    items and decoding settings (so a run cut short keeps what it scored)."""
    path = None if model is None else resolve_model(model)
    out: dict[str, Any] = {"model": str(path) if path else "embedded SmolLM2-135M"}
    key = {"items": [it["sample_id"] for it in items], "max_new_tokens": args.max_new_tokens,
           "model": model_hash(path)}  # fmt: skip
    backend: CT2Backend | None = None
    try:
        for cond in args.conditions.split(","):
            cache = args.work / f"eval-{name}-{cond}.json"
            if cache.is_file() and (doc := json.loads(cache.read_text())).get("key") == key:
                log.info("reusing the %s eval of %s", cond, name)
                out[cond] = doc["result"]
                continue
            if args.cached_only:
                log.info("not scored: %s (%s)", name, cond)
                continue
            backend = backend or CT2Backend(path, batch_size=args.eval_batch, intra_threads=args.threads)
            log.info("scoring %s (%s, %d items)", name, cond, len(items))
            out[cond] = evaluate_condition(backend, items, cond, args)
            cache.write_text(json.dumps({"key": key, "result": out[cond]}))
    finally:
        if backend is not None:
            backend.close()
    return out


def differences(done: dict[str, Any], first: str, second: str, args: argparse.Namespace) -> dict[str, Any]:
    """Paired bootstrap of ``second`` − ``first`` per condition both were scored in."""
    a, b = done[first]["eval"], done[second]["eval"]
    return {c: paired_difference(a[c]["per_item"], b[c]["per_item"], args.resamples, args.seed).as_dict()
            for c in CONDITIONS if c in a and c in b}  # fmt: skip


def leak_split(result: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy without subtitles on items the transcript does / does not answer."""
    if "without_subtitles" not in result:
        return {}
    per = result["without_subtitles"]["per_item"]
    out = {}
    for name, want in (("leaky", True), ("not_leaky", False)):
        scores = [s for s, it in zip(per, items, strict=True) if bool(it["subtitle_leak"]) == want]
        out[name] = {"items": len(scores), "accuracy": round(sum(scores) / len(scores), 4) if scores else None}
    return out


# ---- the run ------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from trainers.grpo import train_grpo
    from trainers.sft import train_sft

    items = read_heldout(args.heldout, args.eval_limit)
    if args.eval_items and args.eval_items < len(items):
        # a fixed subset (seeded, kept in file order) when there is no time to score every item
        keep = sorted(random.Random(args.seed).sample(range(len(items)), args.eval_items))
        items = [items[i] for i in keep]
    held_videos = {it["video_id"] for it in items}
    wanted = args.variants.split(",")
    chains = variant_chains(args.llm_data, args.skeleton_data, wanted)
    train_videos = {rl["video_id"] for rows in chains.values() for rl, _ in rows}
    train_videos |= {r["video_id"] for r in Dataset(args.llm_data).read("rl", ["video_id"]).to_pylist()}
    overlap = held_videos & train_videos
    if overlap:
        raise SystemExit(f"ablation: {len(overlap)} held-out video(s) are training videos: {sorted(overlap)[:3]}")
    if args.heldout_data is not None:  # near-duplicates too: the same pictures or the same sentence
        from heldout.guard import refuse_near_duplicates  # benchmarks/heldout/guard.py

        for data in (args.llm_data, args.skeleton_data):
            refuse_near_duplicates(args.heldout_data, data)
    args.work.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "func"},
        "heldout": {"file": str(args.heldout), "items": len(items), "videos": len(held_videos),
                    "by_type": dict(Counter(it["problem_type"] for it in items)),
                    "subtitle_leak": sum(bool(it["subtitle_leak"]) for it in items)},  # fmt: skip
        "train_videos": len(train_videos), "disjoint_by_video_hash": True,
        "variants": {}, "stages": {}, "finding": args.finding,
    }  # fmt: skip

    def save() -> None:
        write_json(doc, args.work / "ablation.json", args.out)

    def timed(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        result = fn()
        doc["stages"][name] = round(time.perf_counter() - t0, 1)
        log.info("%s: %.0f s", name, doc["stages"][name])
        save()
        return result

    if not args.skip_base:
        doc["base"] = timed("eval_base", lambda: evaluated(None, items, args, "base"))
    sft = SftSettings(max_steps=args.sft_steps, batch_size=args.sft_batch, learning_rate=args.sft_lr,
                      max_length=args.max_length, seed=args.seed, threads=args.threads, logging_steps=1,
                      save_steps=10_000)  # fmt: skip
    for v in wanted:
        pool = args.work / f"pool-{v}"
        entry: dict[str, Any] = {"what": VARIANTS[v], **chain_stats(chains[v])}
        write_pool(pool, chains[v])
        run_dir = args.work / f"sft-{v}"
        key = settings_key(sft, chains[v])
        record = timed(f"sft_{v}", lambda pool=pool, run_dir=run_dir, key=key: trained(
            run_dir, lambda out: train_sft(pool, out, sft), key))  # fmt: skip
        entry["sft"] = {"steps": record["steps"], "seconds": round(record["seconds"], 1),
                        "train_loss": record["train_loss"], "loss_windows": record["loss_windows"]}  # fmt: skip
        doc["variants"][v] = entry
        if args.train_only:
            continue
        entry["eval"] = timed(f"eval_sft_{v}", lambda run_dir=run_dir, v=v: evaluated(str(run_dir), items, args,
                                                                                      f"sft-{v}"))  # fmt: skip
        entry["eval"]["without_subtitles_by_leak"] = leak_split(entry["eval"], items)
        doc["variants"][v] = entry
        save()
    done = doc["variants"]
    if not args.train_only and "a" in done and "b" in done:
        doc["b_minus_a"] = differences(done, "a", "b", args)
    if not args.train_only and "b" in done and "c" in done:
        doc["b_minus_c"] = differences(done, "c", "b", args)
    save()
    if args.grpo_steps > 0 and done:
        # the best SFT model by held-out accuracy averaged over both conditions (ties: the earlier variant), or the
        # one named by --grpo-from (to start GRPO while the SFT models are still being scored)
        def mean_accuracy(v: str) -> float:
            ev = done[v]["eval"]
            return sum(ev[c]["accuracy"] for c in CONDITIONS if c in ev)

        best = args.grpo_from if args.grpo_from != "best" else max(done, key=mean_accuracy)
        grpo_dir = args.work / f"grpo-from-{best}"
        grpo = GrpoSettings(model=str(args.work / f"sft-{best}"), max_steps=args.grpo_steps,
                            batch_size=args.grpo_batch, num_generations=args.num_generations,
                            max_completion_length=args.max_new_tokens, learning_rate=args.grpo_lr,
                            seed=args.seed, threads=args.threads, save_steps=10_000)  # fmt: skip
        start = model_hash(resolve_model(str(args.work / f"sft-{best}")))
        grpo_key = settings_key({"grpo": grpo.model_dump(mode="json"), "from": start}, manifest_hash(args.llm_data))
        record = timed("grpo", lambda: trained(grpo_dir, lambda out: train_grpo(args.llm_data, out, grpo), grpo_key))
        rewards = [e["reward"] for e in record["log_history"] if "reward" in e]
        accuracy = [e["rewards/accuracy_reward/mean"] for e in record["log_history"]
                    if "rewards/accuracy_reward/mean" in e]  # fmt: skip
        doc["grpo"] = {"from": best, "steps": record["steps"], "prompts_per_step": record["prompts_per_step"],
                       "seconds": round(record["seconds"], 1), "reward_windows": record["reward_windows"],
                       "accuracy_windows": record["accuracy_windows"], "reward_per_step": rewards,
                       "accuracy_per_step": accuracy}  # fmt: skip
        if args.train_only:
            save()
            return 0
        doc["grpo"]["eval"] = timed("eval_grpo", lambda: evaluated(str(grpo_dir), items, args, grpo_dir.name))
        doc["grpo"]["eval"]["without_subtitles_by_leak"] = leak_split(doc["grpo"]["eval"], items)
        doc["grpo_minus_sft"] = differences({**done, "grpo": doc["grpo"]}, best, "grpo", args)
    doc["total_seconds"] = round(sum(doc["stages"].values()), 1)
    save()
    if {"a", "b"} <= set(done) and not args.train_only:  # the training data's card shows it ('What this data does')
        (args.llm_data / EFFECT_FILE).write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print(json.dumps(headline(doc), indent=1))
    return 0


def headline(doc: dict[str, Any]) -> dict[str, Any]:
    """The numbers a reader wants first: accuracy with its interval per model and condition, and the differences."""
    models = {"base": doc.get("base")} | {f"sft-{v}": e["eval"] for v, e in doc["variants"].items()}
    if "grpo" in doc:
        models[f"grpo-from-{doc['grpo']['from']}"] = doc["grpo"]["eval"]
    out: dict[str, Any] = {name: {c: [m[c]["accuracy"], m[c]["accuracy_ci95"]] for c in CONDITIONS if c in m}
                           for name, m in models.items() if m}  # fmt: skip
    for key in ("b_minus_a", "b_minus_c", "grpo_minus_sft"):
        if key in doc:
            out[key] = {c: [d["mean"], d["low"], d["high"]] for c, d in doc[key].items()}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(required=True)
    h = sub.add_parser("heldout", help="write the held-out item file from a curated dataset")
    h.add_argument("--data", type=Path, required=True)
    h.add_argument("--out", type=Path, required=True)
    h.set_defaults(func=lambda a: print(json.dumps(write_heldout(a.data, a.out))) or 0)
    r = sub.add_parser("run", help="train and score the variants")
    r.add_argument("--llm-data", type=Path, required=True, help="training videos curated with draft.mode=rationale")
    r.add_argument("--skeleton-data", type=Path, required=True, help="the same videos, draft.mode=skeleton")
    r.add_argument("--heldout", type=Path, default=Path(__file__).parent / "heldout" / "v1.jsonl")
    r.add_argument("--heldout-data", type=Path, help="the held-out set's curated dataset: refuse near-duplicates")
    r.add_argument("--work", type=Path, required=True)
    r.add_argument("--out", type=Path)
    r.add_argument("--variants", default="a,b,c")
    r.add_argument("--sft-steps", type=int, default=12)
    r.add_argument("--sft-batch", type=int, default=4)
    r.add_argument("--sft-lr", type=float, default=5e-5)
    r.add_argument("--max-length", type=int, default=512)
    r.add_argument("--grpo-steps", type=int, default=40)
    r.add_argument("--grpo-batch", type=int, default=4, help="completions per step (prompts × generations)")
    r.add_argument("--num-generations", type=int, default=2)
    r.add_argument("--grpo-lr", type=float, default=2e-6)
    r.add_argument("--max-new-tokens", type=int, default=96)
    r.add_argument("--eval-limit", type=int, help="score only the first N held-out items (dry runs)")
    r.add_argument("--eval-batch", type=int, default=16)
    r.add_argument("--eval-items", type=int, help="score a fixed seeded subset of this many held-out items")
    r.add_argument("--conditions", default=",".join(CONDITIONS), help="with_subtitles,without_subtitles (order)")
    r.add_argument("--resamples", type=int, default=2000)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--threads", type=int, default=default_threads())
    r.add_argument("--skip-base", action="store_true")
    r.add_argument("--grpo-from", default="best", choices=("best", *VARIANTS), help="SFT model GRPO starts from")
    r.add_argument("--train-only", action="store_true", help="train (or reuse) the models, score nothing")
    r.add_argument("--cached-only", action="store_true", help="report only the scores already in --work")
    r.add_argument("--finding", default="", help="one paragraph on what the numbers mean (kept in the result)")
    r.set_defaults(func=run)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if getattr(args, "variants", None) and not set(args.variants.split(",")) <= set(VARIANTS):
        p.error(f"--variants: choose from {','.join(VARIANTS)}")
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
