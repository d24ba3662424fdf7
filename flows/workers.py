"""Stage instances per worker thread, so each worker loads its models once and never shares them."""

from __future__ import annotations

import threading
from typing import Any

from curation.stage import Stage, StageConfig


class StagePool:
    """Hands each thread its own set-up stage object per (stage class, config)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, cls: type[Stage[Any, Any, Any]], config: StageConfig) -> Stage[Any, Any, Any]:
        cache: dict[tuple[str, str], Stage[Any, Any, Any]] = self._local.__dict__.setdefault("stages", {})
        key = (cls.__name__, config.config_hash())
        if key not in cache:
            stage = cls(config)
            stage.ensure_setup()
            cache[key] = stage
        return cache[key]
