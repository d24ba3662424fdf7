"""Stage objects and LLMs per worker thread, so each worker loads its models once and never shares them."""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from typing import Any

from curation.llm.base import GenRequest, GenResult, LLMBackend, Settle
from curation.llm.factory import LLMConfig, backend_from_config
from curation.stage import Stage, StageConfig

log = logging.getLogger(__name__)

_LOAD_LOCK = threading.Lock()  # one LLM load at a time in a process


class StagePool:
    """Hands each thread its own set-up stage object per (stage class, config), and its own LLM per LLM config.

    A pool that crosses into another process (a Dask worker) arrives as that process's own pool, so models load
    once per worker process and thread, never once per task, and loaded models are never pickled.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.setups: Counter[str] = Counter()  # stage objects (and LLMs, as "llm") set up in this pool, by class
        self._llms: list[LLMBackend] = []  # every LLM loaded, in any thread: `close_llms` releases them
        self._llm_ids: dict[str, str] = {}  # LLM config -> model id, once a thread has loaded it
        self._generation = 0  # bumped by `close_llms`: threads then load afresh

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

    def llm(self, config: LLMConfig) -> LLMBackend:
        """This thread's backend for `config`, loaded on first use."""
        generation, cache = self._local.__dict__.get("llms", (-1, {}))
        if generation != self._generation:
            cache = {}
            self._local.llms = (self._generation, cache)
        key = config.model_dump_json()
        if key not in cache:
            with _LOAD_LOCK:  # transformers' lazy imports are not thread-safe: two first loads at once can fail
                backend = backend_from_config(config)
            cache[key] = backend
            with self._lock:
                self._llms.append(backend)
                self._llm_ids[key] = backend.model_id
                self.setups["llm"] += 1
            log.debug("loaded %s in process %d, %s", backend.model_id, os.getpid(), threading.current_thread().name)
        return cache[key]  # type: ignore[no-any-return]

    def llm_id(self, config: LLMConfig) -> str:
        """The model id of `config`'s backend, without loading it again if any thread of this pool has."""
        with self._lock:
            known = self._llm_ids.get(config.model_dump_json())
        return known if known is not None else self.llm(config).model_id

    def llm_ids(self) -> dict[str, str]:
        """The model id of every LLM config loaded so far (by the config's JSON)."""
        with self._lock:
            return dict(self._llm_ids)

    def learn_llm_ids(self, ids: dict[str, str]) -> None:
        """Model ids that a worker's pool loaded: `llm_id` then answers without loading the model here."""
        with self._lock:
            for key, model_id in ids.items():
                self._llm_ids.setdefault(key, model_id)

    def close_llms(self) -> None:
        """Release every LLM this pool loaded (in any thread); a later `llm` call loads again."""
        with self._lock:
            loaded, self._llms = self._llms, []
            self._llm_ids.clear()
            self._generation += 1
        for backend in loaded:
            backend.close()


class PooledLLM(LLMBackend):
    """The run's LLM for one config: each thread that calls it uses `pool`'s backend for that thread, loaded once.

    Pickled it is its config (and the pool, which arrives as the receiving process's): a stage holding one crosses
    to a Dask worker as data, and there calls the worker's own backend, loaded once per worker."""

    def __init__(self, config: LLMConfig, pool: StagePool) -> None:
        self.config, self.pool = config, pool

    def __reduce__(self) -> tuple[Any, tuple[LLMConfig, StagePool]]:
        return (PooledLLM, (self.config, self.pool))

    @property
    def model_id(self) -> str:  # type: ignore[override]
        return self.pool.llm_id(self.config)

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        return self.pool.llm(self.config).generate(requests)

    def sample(self, requests: list[GenRequest], k: int, settle: Settle | None = None) -> list[list[GenResult]]:
        return self.pool.llm(self.config).sample(requests, k, settle)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("config", "pool"):  # not set yet (unpickling) or private: not the model's
            raise AttributeError(name)
        return getattr(self.pool.llm(self.config), name)

    def close(self) -> None:
        """Nothing of its own to release: the pool's `close_llms` releases the backends."""


_PROCESS_POOL: StagePool | None = None
_PROCESS_POOL_LOCK = threading.Lock()


def process_pool() -> StagePool:
    """This process's pool, created on first use (what an unpickled StagePool resolves to)."""
    global _PROCESS_POOL
    with _PROCESS_POOL_LOCK:
        if _PROCESS_POOL is None:
            _PROCESS_POOL = StagePool()
        return _PROCESS_POOL
