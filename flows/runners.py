"""The Prefect task runner of a curate run: a thread pool here (default) or Dask worker processes.

Both kinds of stage run on it. Perception tasks are one per video; the LLM stages (draft, refine, difficulty) send
each batch of `run.llm_batch` cache misses as a task (flows/synthesis.py), so `run.workers` batches run at once,
while the cache, the timeouts and publishing stay in the flow's process. With `run.runner: dask` the tasks run in
Dask workers through prefect-dask's `DaskTaskRunner`: on a `LocalCluster` of `run.workers` single-threaded worker
processes, or on an existing cluster at `run.dask_address`. What a task needs crosses the process boundary by
pickling (the run context, video records, a stage with its config, a batch and its views, outcomes and rows);
models are never shipped but loaded once in each worker thread or process (flows/workers.py), LLMs included.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from flows.config import RunConfig
from flows.errors import UserError

log = logging.getLogger(__name__)

# Seconds to wait for an existing Dask scheduler to answer before the run stops with a clear error.
CONNECT_TIMEOUT = 10.0


def build_task_runner(run: RunConfig) -> Any:
    """A fresh task runner for one curate run, chosen by `run.runner`."""
    if run.runner == "threads":
        return ThreadPoolTaskRunner(max_workers=run.workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:  # pragma: no cover - a dependency of vidcot; only a broken install lacks it
        raise UserError("run.runner=dask needs prefect-dask (pip install prefect-dask)") from None
    _quiet_dask()
    if run.dask_address:
        check_scheduler(run.dask_address)
        return DaskTaskRunner(address=run.dask_address)
    # One thread per worker process: each process loads each stage's models once and runs one video at a time,
    # which is what `workers` means for the thread runner too. No dashboard: it needs bokeh and a free port.
    # Workers report task runs to this process's Prefect API; left alone, each would start its own ephemeral server.
    cluster_kwargs = {
        "n_workers": run.workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "env": _worker_env(),
    }
    return DaskTaskRunner(cluster_class=local_cluster, cluster_kwargs=cluster_kwargs)


def local_cluster(**kwargs: Any) -> Any:
    """A `distributed.LocalCluster` whose workers keep the math libraries' default thread counts and glibc's
    default memory trimming.

    Dask pins OMP/MKL/OpenBLAS to one thread in every worker it spawns, and sets the same variables in the
    spawning process for good. vidcot's stages choose their own threads (`asr.cpu_threads`, OpenCV's), so workers
    compute exactly what the thread runner computes (CTranslate2's log-probs differ in the last digits otherwise),
    and the flow process keeps its threads. Dask also sets MALLOC_TRIM_THRESHOLD_=65536, which made CTranslate2
    in a worker spend as much time in the kernel as in the model (the same 16 LLM requests: 7 s of system time
    instead of 0.1 s, and twice the wall time).
    """
    import dask
    import distributed

    keep = {k: os.environ.get(k) for k in _PINNED}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}):
            return distributed.LocalCluster(**kwargs)
    finally:
        for k, v in keep.items():  # the nannies write their pre-spawn variables into os.environ
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_PINNED = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED")


def _worker_env() -> dict[str, str]:
    """Environment of local Dask workers: report to this process's Prefect API, and stay quiet like the CLI."""
    env = {"PREFECT_API_URL": prefect_api_url()}
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # Every task has a timeout and runs in a worker thread, so Prefect warns once per task that a timeout
        # cannot interrupt it (the thread runner's CLI filters the same warning); failures still log at ERROR.
        env["PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL"] = "ERROR"
    return env


def prefect_api_url() -> str:
    """The Prefect API this process reports to: PREFECT_API_URL, or the ephemeral server (started if need be)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if url:
        return str(url)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the same per-process instance Prefect's client uses in ephemeral mode
    try:
        server.start()
    except RuntimeError as e:
        raise UserError(
            f"the ephemeral Prefect server did not start ({e}); start one with `prefect server start` and set "
            "PREFECT_API_URL, or raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
        ) from None
    return server.api_url


def _quiet_dask() -> None:
    """Dask logs every worker start and stop at INFO; vidcot's own progress and summary say what matters."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("distributed").setLevel(logging.WARNING)


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> int:
    """Connect to the Dask scheduler at `address` once; returns its worker count or raises a one-line UserError."""
    import distributed

    try:
        with distributed.Client(address, timeout=timeout, set_as_default=False) as client:
            workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    except (OSError, TimeoutError, ValueError) as e:
        raise UserError(f"cannot reach the Dask scheduler at {address} ({type(e).__name__}: {e})") from None
    if workers == 0:
        log.warning("the Dask cluster at %s has no workers yet; tasks wait until one joins", address)
    else:
        log.info("Dask cluster at %s: %d workers", address, workers)
    return workers
