"""Cold-start SFT on the ``sft`` pool with TRL's ``SFTTrainer``.

SmolLM2's stock chat template has no ``{% generation %}`` markers, so ``assistant_only_loss`` cannot work on it;
rows are turned into conversational prompt/completion pairs instead and trained with ``completion_only_loss``:
the loss covers exactly the assistant turn (``<think>…</think><answer>…</answer><|im_end|>``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sized
from pathlib import Path
from typing import Any

from trainers.config import LoraSettings, SftSettings
from trainers.data import load_sft
from trainers.models import FINAL, latest_checkpoint, load_model, resolve_model, set_threads
from trainers.runs import cpu_aware_args, dataset_ref, windows, write_record
from trainers.vision import is_vision_model

log = logging.getLogger(__name__)


def lora_config(settings: LoraSettings) -> Any:
    """A peft ``LoraConfig`` for causal LM training, or None when LoRA is off."""
    if not settings.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(
        task_type="CAUSAL_LM",
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
    )


def check_output(out: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (with ``resume``); refuses to mix a new run into an old one."""
    ckpt = latest_checkpoint(out) if out.is_dir() else None
    if resume:
        if ckpt is None:
            raise ValueError(f"--resume: {out} has no checkpoint-N folder to resume from")
        log.info("resuming from %s", ckpt)
        return ckpt
    if ckpt is not None or (out / FINAL).exists():
        raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    return None


def save_final(trainer: Any, tokenizer: Any, out: Path, merged_lora: bool) -> Path:
    """Write the trained model to ``out/final`` as a plain model directory (LoRA merged), atomically."""
    final, tmp = out / FINAL, out / f".{FINAL}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model = trainer.model
    if merged_lora:
        model = model.merge_and_unload()
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def train_sft(data: Path | str, out: Path | str, settings: SftSettings, resume: bool = False) -> dict[str, Any]:
    """Run SFT; returns the run record (also written to ``out/vidcot_run.json``)."""
    import torch
    from trl import SFTConfig, SFTTrainer

    out = Path(out)
    ckpt = check_output(out, resume)
    if settings.streaming and settings.max_steps <= 0:
        raise ValueError("sft.streaming needs sft.max_steps (a stream has no length to count epochs by)")
    set_threads(settings.threads)
    torch.manual_seed(settings.seed)
    model_dir = resolve_model(settings.model)
    model, tokenizer = load_model(model_dir)
    images = settings.images if is_vision_model(model_dir) else 0
    train = load_sft(data, settings.split, streaming=settings.streaming, subtitles=settings.subtitles, images=images)
    args = SFTConfig(
        **cpu_aware_args(settings, out),
        num_train_epochs=settings.epochs,
        warmup_steps=settings.warmup,
        max_length=settings.max_length,
        completion_only_loss=True,
        dataloader_num_workers=0,
        save_only_model=False,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=lora_config(settings.lora),
    )
    kept = len(trainer.train_dataset) if isinstance(trainer.train_dataset, Sized) else None
    if kept is not None and kept < len(train):
        log.warning("%d of %d examples dropped: prompt alone fills max_length", len(train) - kept, len(train))
        if kept == 0:
            raise ValueError(f"every prompt is longer than sft.max_length = {settings.max_length} tokens; raise it")
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    seconds = time.perf_counter() - started
    final = save_final(trainer, tokenizer, out, merged_lora=settings.lora.enabled)
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    record = {
        "kind": "sft",
        "settings": settings.model_dump(mode="json"),
        "data": dataset_ref(data),
        "base_model": str(model_dir),
        "model": str(final),
        "steps": trainer.state.global_step,
        "seconds": seconds,
        "train_loss": result.training_loss,
        "loss_windows": windows(losses, max(1, len(losses) // 4)),
        "log_history": trainer.state.log_history,
    }
    write_record(out, record)
    log.info("SFT done: %d steps in %.0f s, model in %s", trainer.state.global_step, seconds, final)
    return record
