"""GRPO, T-GRPO and DGRPO on the ``rl`` pool with TRL's ``GRPOTrainer`` (see `trainers.variants`).

TRL's own loss types (grpo, dr_grpo, dapo, …), ``beta`` and ``scale_rewards`` pass straight through to
``GRPOConfig``. On a CPU: fp32, no gradient checkpointing (GRPOConfig turns both bf16 and checkpointing on).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from trainers.config import GrpoSettings
from trainers.data import load_rl
from trainers.models import load_model, resolve_model, set_threads, text_tokenizer
from trainers.prompts import fit_prompt
from trainers.rewards import build_rewards
from trainers.runs import cpu_aware_args, dataset_ref, windows, write_record
from trainers.sft import check_output, lora_config, save_final
from trainers.variants import TemporalContrastReward, make_trainer_class
from trainers.vision import is_vision_model

log = logging.getLogger(__name__)


def drop_long_prompts(dataset: Any, tokenizer: Any, max_tokens: int) -> Any:
    """Rows whose chat-formatted prompt fits in ``max_tokens`` (GRPOConfig has no prompt truncation), a longer
    prompt's text view first cut to fit (``trainers.prompts.fit_prompt``: the lines the question names kept)."""

    def prompt_fits(prompt: Any) -> bool:
        ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
        ids = ids["input_ids"] if isinstance(ids, dict) else ids
        return len(ids) <= max_tokens

    def fits(row: dict[str, Any]) -> bool:
        return prompt_fits(row["prompt"])

    def cut(row: dict[str, Any]) -> dict[str, Any]:
        return {"prompt": fit_prompt(row["prompt"], prompt_fits) or row["prompt"]}

    before = len(dataset)
    kept = dataset.map(cut).filter(fits)
    if len(kept) < before:
        log.warning("dropped %d of %d prompts longer than %d tokens", before - len(kept), before, max_tokens)
    if len(kept) == 0:
        raise ValueError(f"no rl prompt fits in grpo.max_prompt_length = {max_tokens} tokens")
    return kept


def reward_setup(settings: GrpoSettings) -> tuple[list[Any], list[float]]:
    """The reward functions and weights of a run: the configured rewards, plus the temporal-contrast reward
    (weight 1; its size is ``temporal.bonus``) for T-GRPO."""
    funcs, weights = build_rewards(settings.rewards)
    if settings.variant == "t-grpo":
        funcs.append(TemporalContrastReward(settings.temporal, settings.rewards.answer, seed=settings.seed))
        weights.append(1.0)
    return funcs, weights


def train_grpo(data: Path | str, out: Path | str, settings: GrpoSettings, resume: bool = False) -> dict[str, Any]:
    """Run GRPO (or a variant); returns the run record (also written to ``out/vidcot_run.json``)."""
    import torch
    from trl import GRPOConfig

    out = Path(out)
    ckpt = check_output(out, resume)
    set_threads(settings.threads)
    torch.manual_seed(settings.seed)
    model_dir = resolve_model(settings.model)
    model, tokenizer = load_model(model_dir)
    images = settings.images if is_vision_model(model_dir) else 0
    train = drop_long_prompts(
        load_rl(data, settings.split, subtitles=settings.subtitles, images=images),
        text_tokenizer(tokenizer),
        settings.max_prompt_length,
    )
    funcs, weights = reward_setup(settings)
    args = GRPOConfig(
        **cpu_aware_args(settings, out),
        num_generations=settings.num_generations,
        max_completion_length=settings.max_completion_length,
        temperature=settings.temperature,
        beta=settings.beta,
        loss_type=settings.loss_type,
        scale_rewards=settings.scale_rewards,
        reward_weights=weights,
        dataloader_num_workers=0,
    )
    trainer = make_trainer_class()(
        model=model,
        args=args,
        reward_funcs=funcs,
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=lora_config(settings.lora),
        difficulty=settings.difficulty if settings.variant == "dgrpo" else None,
    )
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    seconds = time.perf_counter() - started
    final = save_final(trainer, tokenizer, out, merged_lora=settings.lora.enabled)
    history = trainer.state.log_history
    rewards = [e["reward"] for e in history if "reward" in e]
    accuracy = [e["rewards/accuracy_reward/mean"] for e in history if "rewards/accuracy_reward/mean" in e]
    window = max(5, len(rewards) // 4)
    record = {
        "kind": "grpo",
        "variant": settings.variant,
        "settings": settings.model_dump(mode="json"),
        "data": dataset_ref(data),
        "base_model": str(model_dir),
        "model": str(final),
        "steps": trainer.state.global_step,
        "prompts_per_step": settings.batch_size * settings.grad_accum // settings.num_generations,
        "seconds": seconds,
        "reward_windows": windows(rewards, window),
        "accuracy_windows": windows(accuracy, window),
        "log_history": history,
    }
    write_record(out, record)
    log.info("GRPO (%s) done: %d steps in %.0f s, model in %s", settings.variant, trainer.state.global_step,
             seconds, final)  # fmt: skip
    return record
