"""A local Hugging Face causal LM (the embedded SmolLM2 by default), generating in left-padded batches."""

from __future__ import annotations

import logging
import threading
import zlib
from itertools import groupby
from pathlib import Path
from typing import Any

from curation.llm.base import GenRequest, GenResult, LLMBackend, decoded, stop_reached

log = logging.getLogger(__name__)


class TransformersBackend(LLMBackend):
    """Generate with `AutoModelForCausalLM` on the CPU (or any torch device).

    Requests are grouped by decoding settings (temperature and stop strings), sorted by prompt length to keep
    padding small, and generated `batch_size` at a time with left padding. Torch's intra-op thread count is
    process-wide; `torch_threads` sets it deliberately (1 is fastest on a busy 2-core machine; None leaves it).
    Sampling is seeded per batch from the requests' seeds, so the same batch of requests gives the same text.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 8,
        torch_threads: int | None = 1,
        dtype: str = "float32",
        device: str = "cpu",
        max_input_tokens: int = 4096,
        model_id: str | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from trainers import embedded

        if torch_threads:
            torch.set_num_threads(torch_threads)
        if model_path is None:
            path = embedded.embedded_model_dir()
            self.model_id = model_id or embedded.MODEL_ID
        else:
            path = Path(model_path)
            if not path.is_dir():
                raise FileNotFoundError(f"model directory {path} does not exist (set llm.model to a local path)")
            self.model_id = model_id or str(path)
        self.batch_size = max(1, batch_size)
        self.max_input_tokens: int = max_input_tokens
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        # Decoder-only models must be padded on the left so every row's next token follows its own prompt.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=getattr(torch, dtype))
        self.model = model.to(device)  # type: ignore[arg-type]  # transformers' stubs mistype .to
        self.model.eval()
        self._eos = self._eos_ids()
        self._lock = threading.Lock()  # torch RNG seeding + generate are not safe to interleave across threads

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for src in (self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id):
            if isinstance(src, int):
                ids.add(src)
            elif src:
                ids.update(src)
        return ids

    def prompt_text(self, req: GenRequest) -> str:
        """The exact text fed to the model: the chat template with a generation prompt, then the prefill."""
        msgs = [{"role": m.role, "content": m.content} for m in req.messages]
        text = self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return str(text) + req.prefill

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        """One result per request, in order; a failing batch is retried item by item."""
        results: list[GenResult | None] = [None] * len(requests)
        prompts: list[str] = []
        lengths: list[int] = []
        for i, req in enumerate(requests):
            try:
                p = self.prompt_text(req)
                n = len(self.tokenizer(p, add_special_tokens=False)["input_ids"])
            except Exception as e:  # a bad message (e.g. a template error) fails only its own item
                results[i] = GenResult.failed("backend_error", f"prompt: {e!r}")
                p, n = "", 0
            if results[i] is None and n > self.max_input_tokens:
                results[i] = GenResult.failed("prompt_too_long", f"{n} tokens > {self.max_input_tokens}")
            prompts.append(p)
            lengths.append(n)

        def key(i: int) -> tuple[float, tuple[str, ...]]:
            return (requests[i].temperature, tuple(requests[i].stop))

        todo = sorted((i for i in range(len(requests)) if results[i] is None), key=lambda i: (key(i), lengths[i]))
        for _, group in groupby(todo, key=key):
            idx = list(group)
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                for i, res in zip(chunk, self._generate_safe(chunk, requests, prompts), strict=True):
                    results[i] = res
        return [r if r is not None else GenResult.failed("backend_error", "no result") for r in results]

    def _generate_safe(self, chunk: list[int], requests: list[GenRequest], prompts: list[str]) -> list[GenResult]:
        try:
            return self._generate_batch([requests[i] for i in chunk], [prompts[i] for i in chunk])
        except Exception as e:
            if len(chunk) == 1:
                log.warning("generation failed: %r", e)
                return [GenResult.failed("backend_error", repr(e))]
            log.warning("batched generation failed (%r); retrying one at a time", e)
            return [self._generate_safe([i], requests, prompts)[0] for i in chunk]

    def _generate_batch(self, reqs: list[GenRequest], prompts: list[str]) -> list[GenResult]:
        import torch

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        temperature = reqs[0].temperature
        kwargs: dict[str, Any] = {
            "max_new_tokens": max(r.max_new_tokens for r in reqs),
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
            kwargs["top_k"] = 0
            kwargs["top_p"] = 1.0
        else:  # greedy: clear sampling knobs a model's generation_config may carry, so nothing warns
            kwargs.update(temperature=None, top_k=None, top_p=None)
        if reqs[0].stop:
            kwargs["stopping_criteria"] = stop_after_text(self.tokenizer, enc["input_ids"].shape[1], reqs[0].stop)
        with self._lock, torch.inference_mode():
            if temperature > 0:
                seeds = ",".join(str(r.seed if r.seed is not None else 0) for r in reqs)
                torch.manual_seed(zlib.crc32(seeds.encode()))
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        return [self._decode(ids, req) for ids, req in zip(new, reqs, strict=True)]

    def _decode(self, ids: list[int], req: GenRequest) -> GenResult:
        return decoded(ids, req, self._eos, lambda ids: str(self.tokenizer.decode(ids, skip_special_tokens=True)))


def stop_after_text(tokenizer: Any, prompt_len: int, stop: list[str]) -> Any:
    """Stopping criteria that end a row once its reply holds a stop string after its leading white space
    (`stop_reached`, as the CTranslate2 backend stops; Hugging Face's own `stop_strings` lack that rule)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    def text(ids: list[int]) -> str:
        return str(tokenizer.decode(ids, skip_special_tokens=True))

    class AfterText(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            done = [stop_reached(r, stop, text) for r in input_ids[:, prompt_len:].tolist()]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([AfterText()])
