"""What a training run leaves beside its checkpoints: ``vidcot_run.json`` with settings, inputs and results."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
from pathlib import Path
from typing import Any

from schemas.store import Dataset

RECORD = "vidcot_run.json"


def dataset_ref(data: Path | str) -> dict[str, Any]:
    """The dataset a run read: its path and manifest revision."""
    return {"path": str(Path(data).resolve()), "revision": Dataset(data).revision}


def windows(values: list[float], size: int) -> list[dict[str, float]]:
    """Means of consecutive windows of ``size`` values (the last may be shorter): a trend, not per-step noise."""
    size = max(1, size)
    out = []
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        out.append({"first_step": start + 1, "steps": len(chunk), "mean": statistics.fmean(chunk)})
    return out


def write_record(out: Path, record: dict[str, Any]) -> Path:
    """Write ``vidcot_run.json`` atomically (settings dataclasses are serialised as plain mappings)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / RECORD
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(_plain(record), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def cpu_aware_args(settings: Any, out: Path) -> dict[str, Any]:
    """TrainingArguments shared by the SFT and GRPO configs: step budget, saving, logging and CPU-friendly switches.

    SFTConfig and GRPOConfig default to bf16 and gradient checkpointing; on a CPU both only slow training down.
    """
    import torch

    return {
        "output_dir": str(out),
        "max_steps": settings.max_steps,
        "per_device_train_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.grad_accum,
        "learning_rate": settings.learning_rate,
        "save_steps": settings.save_steps,
        "save_total_limit": settings.save_total_limit,
        "logging_steps": settings.logging_steps,
        "seed": settings.seed,
        "use_cpu": not torch.cuda.is_available(),
        "bf16": False,
        "gradient_checkpointing": False,
        "activation_checkpointing": False,
        "report_to": "none",
    }
