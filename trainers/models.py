"""Finding and loading policy models: the embedded default, a model directory, a LoRA adapter or a run."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FINAL = "final"  # a run's finished model: a plain Hugging Face directory (LoRA merged)


def latest_checkpoint(run: Path) -> Path | None:
    """The ``checkpoint-N`` folder with the highest N in a run directory, if any."""
    found = [(int(m.group(1)), p) for p in run.glob("checkpoint-*") if (m := re.fullmatch(r"checkpoint-(\d+)", p.name))]
    return max(found)[1] if found else None


def resolve_model(spec: str | Path | None) -> Path:
    """A loadable directory for ``spec``: None → the embedded SmolLM2-135M; a model or adapter directory as it
    is; a run directory → its ``final`` model, else its latest checkpoint."""
    if spec is None:
        from trainers.embedded import embedded_model_dir

        return embedded_model_dir()
    path = Path(spec)
    if not path.is_dir():
        raise FileNotFoundError(f"model {spec} is not a directory")
    if _is_model_dir(path):
        return path
    if _is_model_dir(path / FINAL):
        return path / FINAL
    ckpt = latest_checkpoint(path)
    if ckpt is not None and _is_model_dir(ckpt):
        return ckpt
    raise FileNotFoundError(f"{spec} holds no model (config.json / adapter_config.json), final/ or checkpoint-N/")


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def load_model(path: Path, dtype: Any = None) -> tuple[Any, Any]:
    """Model and its processing class from a directory (fp32 by default; bf16 is slower on CPUs): a tokenizer for
    a causal LM, a processor (tokenizer + image processor) for a vision-language model. A LoRA adapter is loaded on
    its base model and merged, so callers always get a plain model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    from trainers.vision import is_vision_model

    dtype = dtype or torch.float32
    vision = is_vision_model(path)
    if (path / "adapter_config.json").is_file() and not (path / "config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(path, dtype=dtype).merge_and_unload()
    elif vision:
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    processing = AutoProcessor.from_pretrained(path) if vision else AutoTokenizer.from_pretrained(path)
    tokenizer = text_tokenizer(processing)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, processing


def text_tokenizer(processing: Any) -> Any:
    """The tokenizer inside a processor, or the tokenizer itself."""
    return getattr(processing, "tokenizer", processing)


def set_threads(n: int) -> None:
    """Pin torch's intra-op threads (oversubscribing a shared CPU slows generation several-fold)."""
    import torch

    torch.set_num_threads(max(1, n))
    log.info("torch threads: %d", torch.get_num_threads())
