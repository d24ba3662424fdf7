"""Held-out evaluation on the ``rl`` pool: accuracy per problem type, format rate, temporal IoU and R@1 at IoU
0.3/0.5/0.7, held-out reward, tokens and seconds per item — with and without subtitles.

Decoding is batched and greedy; with ``samples`` K > 1 it samples K completions per item and the answer is the
self-consistency vote (`vote`). The reward reported is the weighted sum of the default rewards
(`trainers.rewards.build_rewards`), the same the GRPO trainer optimises.

Every accuracy comes with its 95% bootstrap interval and stands beside the blind baselines on the same items
(`baselines`, rules of `schemas.shortcuts`): uniform chance, the best constant answer, the question template's
majority answer and the construction priors — a model that does not beat them has learnt nothing from the video.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas.shortcuts import PRIOR_RULES, RULE_TITLES, BlindItem, blind_answers, chance, prompt_question
from trainers.bootstrap import bootstrap_mean
from trainers.config import EvalSettings
from trainers.data import rl_rows
from trainers.models import load_model, resolve_model, set_threads, text_tokenizer
from trainers.prompts import strip_subtitles
from trainers.rewards import (
    answer_score,
    build_rewards,
    choice_letter,
    ordering_items,
    parse_completion,
    parse_number,
    parse_span,
    temporal_iou,
)
from trainers.vision import KeyframeImages, is_vision_model

log = logging.getLogger(__name__)

IOU_THRESHOLDS = (0.3, 0.5, 0.7)


def generate(
    model: Any,
    processing: Any,
    prompts: Sequence[list[dict[str, str]]],
    settings: EvalSettings,
    images: Sequence[list[Any]] | None = None,
) -> tuple[list[list[str]], list[int]]:
    """K completions per prompt (greedy when K = 1) and the generated token count per prompt (all K).

    ``processing`` is a tokenizer, or a vision-language model's processor; ``images`` (one list per prompt) go to
    the processor with an image placeholder per image in the user turn. Prompts are sorted by length and batched
    with left padding, so batches waste little on padding.
    """
    import torch

    tokenizer = text_tokenizer(processing)
    if images is not None:
        prompts = [with_image_parts(p, len(imgs)) for p, imgs in zip(prompts, images, strict=True)]
    texts = [processing.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    outputs: list[list[str]] = [[] for _ in prompts]
    tokens = [0] * len(prompts)
    k = settings.samples
    tokenizer.padding_side = "left"
    eos = tokenizer.eos_token_id
    model.eval()
    for start in range(0, len(order), settings.batch_size):
        idx = order[start : start + settings.batch_size]
        batch = [texts[i] for i in idx]
        if images is not None:
            enc = processing(text=batch, images=[images[i] for i in idx], return_tensors="pt", padding=True)
        else:
            enc = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
        decoding = (
            {"do_sample": True, "temperature": settings.temperature, "top_p": 1.0} if k > 1 else {"do_sample": False}
        )
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=settings.max_new_tokens,
                num_return_sequences=k,
                pad_token_id=tokenizer.pad_token_id,
                **decoding,
            )
        new = out[:, enc["input_ids"].shape[1] :]
        for row, seq in enumerate(new):
            item = idx[row // k]
            ids = seq.tolist()
            n = ids.index(eos) + 1 if eos in ids else len([t for t in ids if t != tokenizer.pad_token_id])
            tokens[item] += n
            outputs[item].append(tokenizer.decode(ids[:n], skip_special_tokens=True))
    return outputs, tokens


def answer_key(answer: str | None, problem_type: str, options: Sequence[str] | None) -> Any:
    """A canonical form of an answer for voting: equal keys are the same answer."""
    if answer is None:
        return None
    if problem_type == "multiple choice":
        return choice_letter(answer, options)
    if problem_type in ("numerical", "regression"):
        n = parse_number(answer)
        return None if n is None else round(n, 6)
    if problem_type == "ordering":
        items = ordering_items(answer)
        return tuple(items) if items else None
    if problem_type == "span":
        return parse_span(answer)
    return " ".join(answer.lower().split()) or None


def vote(answers: Sequence[str | None], problem_type: str, options: Sequence[str] | None = None) -> str | None:
    """The self-consistency answer: the most common canonical answer (ties: first seen). For spans, the
    medoid — the span with the highest summed IoU to the others — since exact repeats are rare."""
    keyed = [(a, answer_key(a, problem_type, options)) for a in answers]
    keyed = [(a, key) for a, key in keyed if key is not None]
    if not keyed:
        return None
    if problem_type == "span":
        best = max(keyed, key=lambda ak: sum(temporal_iou(ak[1], other) for _, other in keyed))
        return best[0]
    counts = Counter(key for _, key in keyed)
    top = max(counts.values())
    return next(a for a, key in keyed if counts[key] == top)


def score(items: Sequence[dict[str, Any]], completions: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Metrics over items and their completions (one or more per item)."""
    funcs, weights = build_rewards()
    acc: list[float] = []
    by_type: dict[str, list[float]] = {}
    formats: list[float] = []
    rewards: list[float] = []
    ious: list[float] = []
    for item, comps in zip(items, completions, strict=True):
        parsed = [parse_completion(c) for c in comps]
        formats.extend(float(p.well_formed) for p in parsed)
        n = len(comps)
        cols = {k: [item[k]] * n for k in ("solution", "problem_type", "options")}
        per_func = [f(list(comps), **cols) for f in funcs]
        rewards.extend(sum(w * r[j] for w, r in zip(weights, per_func, strict=True)) for j in range(n))
        answer = parsed[0].answer if n == 1 else vote([p.answer for p in parsed], item["problem_type"], item["options"])
        s = answer_score(answer, item["solution"], item["problem_type"], item["options"])
        acc.append(s)
        by_type.setdefault(item["problem_type"], []).append(s)
        if item["problem_type"] == "span":
            ious.append(s)  # the span score is the temporal IoU
    out: dict[str, Any] = {
        "items": len(items),
        "format_rate": statistics.fmean(formats),
        "accuracy": statistics.fmean(acc),
        "accuracy_interval": bootstrap_mean(acc).as_dict(),
        "reward": statistics.fmean(rewards),
        "accuracy_by_type": {t: {"items": len(v), "accuracy": statistics.fmean(v)} for t, v in sorted(by_type.items())},
        "span_items": len(ious),
        "mean_tiou": statistics.fmean(ious) if ious else None,
        "recall_at_iou": {str(t): (sum(i >= t for i in ious) / len(ious) if ious else None) for t in IOU_THRESHOLDS},
    }
    return out


BASELINES = {"chance": "uniform chance", "constant": RULE_TITLES["constant"],
             "question_majority": RULE_TITLES["question_majority"],
             "prior_rules": "prior rules (absence → No, listed order, count → 1)"}  # fmt: skip


def _question(item: dict[str, Any]) -> str:
    users = [m["content"] for m in item["prompt"] if m.get("role") == "user" and isinstance(m.get("content"), str)]
    return prompt_question(users[-1]) if users else ""


def baselines(items: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What blind readers score on these items (scored like the model, 0 where a rule gives no answer), each with
    its bootstrap interval: uniform chance, the best constant answer, the question template's majority answer
    (leave-one-out) and the prior rules (each item answered by the prior that applies to it, if any)."""
    blind = [BlindItem(_question(it), it["problem_type"], it["solution"], tuple(it["options"] or ())) for it in items]
    answers = blind_answers(blind)
    prior = [next((answers[r][i] for r in PRIOR_RULES if answers[r][i] is not None), None) for i in range(len(blind))]
    picks = {"constant": answers["constant"], "question_majority": answers["question_majority"], "prior_rules": prior}
    out = {"chance": {"title": BASELINES["chance"], **bootstrap_mean(chance(blind)).as_dict()}}
    for name, got in picks.items():
        scores = [
            0.0 if a is None else answer_score(a, it["solution"], it["problem_type"], it["options"])
            for a, it in zip(got, items, strict=True)
        ]
        out[name] = {"title": BASELINES[name], **bootstrap_mean(scores).as_dict()}
    return out


def with_image_parts(prompt: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The prompt with ``n`` image placeholders before the text of its first user turn (chat-template form)."""
    out: list[dict[str, Any]] = []
    placed = n == 0
    for m in prompt:
        if not placed and m["role"] == "user":
            parts = [{"type": "image"}] * n + [{"type": "text", "text": m["content"]}]
            out.append({"role": "user", "content": parts})
            placed = True
        else:
            out.append(m)
    return out


def evaluate_condition(
    model: Any,
    processing: Any,
    items: list[dict[str, Any]],
    settings: EvalSettings,
    frames: KeyframeImages | None = None,
) -> dict:
    """Generate and score one condition (the items' prompts as given; keyframes too when ``frames`` is given)."""
    started = time.perf_counter()
    images = [frames.for_row(it["video_id"], it.get("keyframe_ids")) for it in items] if frames is not None else None
    completions, tokens = generate(model, processing, [it["prompt"] for it in items], settings, images)
    seconds = time.perf_counter() - started
    metrics = score(items, completions)
    metrics["tokens_per_item"] = statistics.fmean(tokens)
    metrics["seconds_per_item"] = seconds / len(items)
    metrics["examples"] = [
        {"sample_id": it["sample_id"], "problem_type": it["problem_type"], "solution": it["solution"],
         "completion": c[0]}
        for it, c in list(zip(items, completions, strict=True))[:3]
    ]  # fmt: skip
    return metrics


def evaluate(model_spec: str | None, data: Path | str, settings: EvalSettings) -> dict[str, Any]:
    """Evaluate a model (directory, adapter, run, or None for the embedded one) on the ``split`` rows.

    Returns ``{"model", "split", "samples", "format_rate", "accuracy", "reward", "conditions": {"with_subtitles":
    {...}, "without_subtitles": {...}}}``; the top-level numbers are those of the first condition evaluated.
    """
    import torch

    set_threads(settings.threads)
    torch.manual_seed(settings.seed)
    items = rl_rows(data, settings.split, settings.limit)
    path = resolve_model(model_spec)
    model, processing = load_model(path)
    frames = KeyframeImages(data, settings.images) if is_vision_model(path) and settings.images > 0 else None
    conditions: dict[str, Any] = {}
    if settings.subtitles in ("with", "both"):
        conditions["with_subtitles"] = evaluate_condition(model, processing, items, settings, frames)
    if settings.subtitles in ("without", "both"):
        stripped = [{**it, "prompt": strip_subtitles(it["prompt"])} for it in items]
        conditions["without_subtitles"] = evaluate_condition(model, processing, stripped, settings, frames)
    first = next(iter(conditions.values()))
    return {
        "model": str(path),
        "data": str(data),
        "split": settings.split,
        "samples": settings.samples,
        "images_per_item": settings.images if frames is not None else 0,
        "format_rate": first["format_rate"],
        "accuracy": first["accuracy"],
        "reward": first["reward"],
        "conditions": conditions,
        "baselines": baselines(items),
    }


def format_table(result: dict[str, Any]) -> str:
    """The result as a plain-text table, one column per condition."""
    conds = result["conditions"]
    names = list(conds)
    types = sorted({t for c in conds.values() for t in c["accuracy_by_type"]})
    rows: list[tuple[str, list[str]]] = []

    def fmt(v: Any) -> str:
        return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    for key in ("items", "format_rate", "accuracy", "reward", "mean_tiou"):
        rows.append((key, [fmt(conds[n][key]) for n in names]))
        if key == "accuracy":
            rows.append(("  95% interval", [_interval(conds[n].get("accuracy_interval")) for n in names]))
    for t in IOU_THRESHOLDS:
        rows.append((f"R@1 IoU≥{t}", [fmt(conds[n]["recall_at_iou"][str(t)]) for n in names]))
    for t in types:
        cells = []
        for n in names:
            v = conds[n]["accuracy_by_type"].get(t)
            cells.append(f"{v['accuracy']:.3f} (n={v['items']})" if v else "-")
        rows.append((f"accuracy: {t}", cells))
    rows.append(("tokens/item", [fmt(conds[n]["tokens_per_item"]) for n in names]))
    rows.append(("seconds/item", [fmt(conds[n]["seconds_per_item"]) for n in names]))
    width = max(len(r[0]) for r in rows) + 2
    col = max(18, *(len(n) + 2 for n in names))
    lines = [f"model {result['model']}  split {result['split']}  samples {result['samples']}"]
    lines.append("".ljust(width) + "".join(n.ljust(col) for n in names))
    lines += [label.ljust(width) + "".join(c.ljust(col) for c in cells) for label, cells in rows]
    if result.get("baselines"):
        lines.append("blind baselines on the same items (no video, no transcript; the model must beat these):")
        lines += [f"  {b['title']}: {b['mean']:.3f} {_interval(b)}" for b in result["baselines"].values()]
    return "\n".join(lines)


def _interval(iv: dict[str, Any] | None) -> str:
    return "-" if not iv else f"[{iv['low']:.3f}, {iv['high']:.3f}]"
