"""A local vision-language model by path (transformers), for users who have one; same interface as the others.

Loaded once with `local_files_only=True` (nothing is downloaded). Meant for a GPU; small models run on CPU.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from curation.evidence.base import EvidenceBackend
from curation.evidence.vlm_endpoint import DEFAULT_PROMPT
from schemas import EvidenceRecord, FrameRecord

log = logging.getLogger(__name__)


class LocalVLMBackend(EvidenceBackend):
    """Captions from an image-text-to-text model directory (e.g. Qwen2.5-VL, SmolVLM)."""

    name = "vlm-local"

    def __init__(
        self,
        path: str,
        device: str = "auto",
        max_new_tokens: int = 96,
        batch_size: int = 4,
        prompt: str = DEFAULT_PROMPT,
    ) -> None:
        self.path, self.device, self.max_new_tokens = path, device, max_new_tokens
        self.batch_size, self.prompt = batch_size, prompt
        self._model: Any = None
        self._processor: Any = None

    def models(self) -> list[str]:
        return [f"{Path(self.path).name} (local: {self.path})"]

    def setup(self) -> None:
        if not Path(self.path).is_dir():
            raise ValueError(f"evidence.local_path: {self.path!r} is not a model directory")
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        device = self.device if self.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        self._processor = AutoProcessor.from_pretrained(self.path, local_files_only=True)
        model = AutoModelForImageTextToText.from_pretrained(self.path, local_files_only=True, dtype=dtype)
        self._model = model.to(device).eval()  # type: ignore[arg-type]

    def describe(self, frames: list[FrameRecord], images: list[np.ndarray], rows: list[EvidenceRecord]) -> None:
        import torch
        from PIL import Image

        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt}]}]
        prompt = self._processor.apply_chat_template(messages, add_generation_prompt=True)
        # Left padding so every prompt in a batch ends where generation starts.
        if getattr(self._processor, "tokenizer", None) is not None:
            self._processor.tokenizer.padding_side = "left"
        for i in range(0, len(images), self.batch_size):
            batch = [Image.fromarray(img[:, :, ::-1]) for img in images[i : i + self.batch_size]]
            inputs = self._processor(
                text=[prompt] * len(batch), images=[[im] for im in batch], return_tensors="pt", padding=True
            ).to(self._model.device)
            with torch.inference_mode():
                out = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
            new = out[:, inputs["input_ids"].shape[1] :]
            texts = self._processor.batch_decode(new, skip_special_tokens=True)
            for row, text in zip(rows[i : i + self.batch_size], texts, strict=True):
                row.caption = text.strip()
