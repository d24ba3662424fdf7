"""What names an LLM for cache keys: its result-changing settings, and the weights an embedded model ships."""

from __future__ import annotations

from curation.llm.factory import LLMConfig
from curation.stage import digest
from trainers.embedded import MODEL_ID, ct2_model_id


def llm_identity(config: LLMConfig) -> str:
    """The embedded model's id (with its package version, and the runtime: int8 CTranslate2 writes other text than
    fp32 transformers) or the configured model name."""
    if config.backend == "embedded" or (config.backend == "ctranslate2" and not config.model):
        return ct2_model_id(MODEL_ID)
    if config.backend == "transformers" and not config.model:
        return MODEL_ID
    if config.backend == "ctranslate2":
        return ct2_model_id(str(config.model))
    return f"{config.backend}:{config.model}"


def llm_key(config: LLMConfig) -> str:
    """A short hash of what changes an LLM's output (not its endpoint URL, timeout or concurrency)."""
    return digest(config)
