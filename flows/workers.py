"""Stage instances per worker thread, so each worker loads its models once and never shares them."""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from typing import Any

from curation.stage import Stage, StageConfig

log = logging.getLogger(__name__)


class StagePool:
    """Hands each thread its own set-up stage object per (stage class, config).

    A pool that crosses into another process (a Dask worker) arrives as that process's own pool, so models load
    once per worker process and thread, never once per task, and loaded models are never pickled.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.setups: Counter[str] = Counter()  # stage objects set up in this pool, by stage class

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (process_pool, ())

    def get(self, cls: type[Stage[Any, Any, Any]], config: StageConfig) -> Stage[Any, Any, Any]:
        cache: dict[tuple[str, str], Stage[Any, Any, Any]] = self._local.__dict__.setdefault("stages", {})
        key = (cls.__name__, config.config_hash())
        if key not in cache:
            stage = cls(config)
            stage.ensure_setup()
            cache[key] = stage
            with self._lock:
                self.setups[cls.__name__] += 1
            log.debug(
                "set up %s (%s) in process %d, %s", cls.__name__, key[1], os.getpid(), threading.current_thread().name
            )
        return cache[key]


_PROCESS_POOL: StagePool | None = None
_PROCESS_POOL_LOCK = threading.Lock()


def process_pool() -> StagePool:
    """This process's pool, created on first use (what an unpickled StagePool resolves to)."""
    global _PROCESS_POOL
    with _PROCESS_POOL_LOCK:
        if _PROCESS_POOL is None:
            _PROCESS_POOL = StagePool()
        return _PROCESS_POOL
