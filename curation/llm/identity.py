"""What names an LLM for cache keys: its result-changing settings, and the weights an embedded model ships."""

from __future__ import annotations

from curation.llm.factory import LLMConfig
from curation.stage import digest
from trainers.embedded import MODEL_ID


def llm_identity(config: LLMConfig) -> str:
    """The embedded model's id (with its package version) or the configured model name."""
    if config.backend == "embedded":
        return MODEL_ID
    return f"{config.backend}:{config.model}"


def llm_key(config: LLMConfig) -> str:
    """A short hash of what changes an LLM's output (not its endpoint URL, timeout or concurrency)."""
    return digest(config)
