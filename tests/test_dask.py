"""Scale-out: the perception stages, and the batches of the LLM stages, on Dask worker processes give the same rows
as the default thread runner."""

from __future__ import annotations

import os
import pickle
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from curation.collection import Batches, Collection, Work
from curation.draft import DraftStage
from curation.llm.factory import LLMConfig
from curation.probe import ProbeConfig, ProbeStage
from curation.tasks import TasksStage
from flows.cache import StageCache
from flows.config import load_config
from flows.curate import run_curate
from flows.errors import UserError
from flows.perception import RunContext
from flows.runners import build_task_runner, check_scheduler, local_cluster, prefect_api_url
from flows.synthesis import CachedBatches, SynthesisSummary
from flows.workers import PooledLLM, StagePool, process_pool
from schemas.store.query import connect
from tests.runs import copy_clips
from tests.views import kitchen_view, street_view

# Speech (ASR rows), on-screen text (OCR evidence), no audio, a plain clip, and one too short (a probe reject).
CLIPS = ("cuts_narrated.mp4", "onscreen_text.mp4", "no_audio.mp4", "shapes.mp4", "tiny.mp4")
TABLES = ("videos", "shots", "frames", "segments", "words", "evidence", "rejects")
UNTIL = "evidence"
# The LLM stages, small: two tasks a video, two requests a batch (so there are batches for both workers), and one
# greedy pass@1 sample (CTranslate2 seeds each thread's sampler once, so sampled text is not reproducible from a
# seed on any runner; greedy text is, and does not depend on the batch).
SYNTHESIS = ("tasks.max_per_video=2", "run.llm_batch=2", "difficulty.k=1", "difficulty.temperature=0")
SYNTHESIS_TABLES = ("tasks", "cot", "rl", "sft", "pairs", "negatives", "rejects")


def _rows(dataset: Path, table: str) -> list[str]:
    """Every row of `table` but its provenance, as sortable text (the row order of shards is not part of a run)."""
    data = connect(dataset).sql(f"SELECT * FROM {table}").to_arrow_table()
    if "provenance" in data.column_names:
        data = data.drop_columns(["provenance"])
    return sorted(repr(tuple(r.values())) for r in data.to_pylist())


@pytest.fixture(scope="module")
def inputs(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_clips(samples_dir, CLIPS, tmp_path_factory.mktemp("dask_inputs"))


@pytest.fixture(scope="module")
def threads_dataset(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("threads") / "ds"
    config = load_config(None, ["run.workers=2"])
    run_curate(sorted(inputs.iterdir()), out, config, until=UNTIL, show_progress=False)
    return out


@pytest.fixture(autouse=True)
def _no_inherited_omp_thread_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers are spawned with this process's environment, and the evidence stage's setup, run here earlier in the
    session, sets OMP_THREAD_LIMIT=1 for tesseract; with a limit below asr.cpu_threads, CTranslate2 transcribes
    nothing at all. The CLI never runs a stage in the flow process before its workers start, so only a test sees it.
    """
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)


def test_a_pickled_pool_is_the_receiving_process_pool() -> None:
    """What crosses to a Dask worker is a reference to that worker's own pool, never loaded models."""
    pool = StagePool()
    stage = pool.get(ProbeStage, ProbeConfig())
    blob = pickle.dumps(pool)
    assert len(blob) < 200
    here = pickle.loads(blob)
    assert here is process_pool()
    assert here.get(ProbeStage, ProbeConfig()) is here.get(ProbeStage, ProbeConfig())
    assert here.get(ProbeStage, ProbeConfig()) is not stage
    assert pool.setups["ProbeStage"] == 1


def test_threads_stay_the_default_and_bad_run_settings_name_their_key() -> None:
    threads = build_task_runner(load_config(None, ["run.workers=3"]).run)
    assert type(threads).__name__ == "ThreadPoolTaskRunner" and threads._max_workers == 3
    with pytest.raises(UserError, match="run: .*dask_address is set but runner is not dask"):
        load_config(None, ["run.dask_address=tcp://127.0.0.1:8786"])
    with pytest.raises(UserError, match="run.runner"):
        load_config(None, ["run.runner=ray"])


def test_an_unreachable_scheduler_is_one_clear_error() -> None:
    with pytest.raises(UserError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        check_scheduler("tcp://127.0.0.1:9", timeout=2)


@pytest.mark.slow
def test_two_local_dask_workers_give_the_same_rows_as_threads(
    inputs: Path, threads_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    config = load_config(None, ["run.runner=dask", "run.workers=2"])
    runner = build_task_runner(config.run)  # what run_curate builds: a LocalCluster of 2 single-thread processes
    assert type(runner).__name__ == "DaskTaskRunner" and runner.address is None
    assert runner.cluster_kwargs["n_workers"] == 2 and runner.cluster_kwargs["threads_per_worker"] == 1
    assert runner.cluster_kwargs["env"]["PREFECT_API_URL"] == prefect_api_url()
    threads_env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    summary = run_curate(sorted(inputs.iterdir()), out, config, until=UNTIL, show_progress=False)
    assert summary.kept == 4 and dict(summary.rejected) == {"probe:too_short": 1}
    # Dask pins math libraries to one thread in the process that spawns workers; the flow process keeps its own.
    assert {k: os.environ.get(k) for k in threads_env} == threads_env
    assert summary.stage_runs["evidence"] == 4  # real work in the workers, not cache hits
    for table in TABLES:
        assert _rows(out, table) == _rows(threads_dataset, table), table
    assert len(_rows(out, "words")) > 0 and len(_rows(out, "evidence")) > 0


@pytest.mark.slow
def test_an_existing_cluster_loads_models_once_per_worker(inputs: Path, threads_dataset: Path, tmp_path: Path) -> None:
    """`run.dask_address`: workers of a cluster started elsewhere (here, by the test) run the stages."""
    distributed = pytest.importorskip("distributed")
    env = {"PREFECT_API_URL": prefect_api_url()}  # what README tells people to give their workers
    with (
        local_cluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        out = tmp_path / "ds"
        config = load_config(None, [f"run.dask_address={cluster.scheduler_address}", "run.runner=dask"])
        summary = run_curate(sorted(inputs.iterdir()), out, config, until=UNTIL, show_progress=False)
        setups = client.run(lambda: dict(process_pool().setups))
    assert summary.kept == 4
    for table in TABLES:
        assert _rows(out, table) == _rows(threads_dataset, table), table
    # Four videos (five probes) on two workers: each worker set each stage up at most once, not once per video.
    assert len(setups) == 2
    assert all(n == 1 for counts in setups.values() for n in counts.values()), setups
    for stage in ("ProbeStage", "ShotsStage", "AsrStage", "EvidenceStage"):
        assert 1 <= sum(c.get(stage, 0) for c in setups.values()) <= 2, setups


def test_a_batch_crosses_to_a_worker_as_its_stage_config_llm_config_and_views() -> None:
    """What a Dask worker is sent for a batch: the stage (config, and its LLM as a config), the batch, and the views
    of the batch's videos only; no model is loaded to send it, and there the LLM is the worker's own."""
    views = {v.video_id: v for v in (street_view(), kitchen_view())}
    collection = Collection(Path("unused"), views, load_config(None), lambda cfg: pytest.fail("no LLM needed"))
    tasks = TasksStage.build(collection).run(collection, Batches()).rows["tasks"]
    batch = [t for t in tasks if t.video_id == "vid-street"][:2]
    pool = StagePool()
    work: Work[Any, Any] = Work(DraftStage(backend=PooledLLM(LLMConfig(), pool)), "chains", views)
    blob = pickle.dumps(work.part(batch))
    assert b"vid-kitchen" not in blob and len(blob) < 50_000
    there = pickle.loads(blob)
    assert set(there.views) == {"vid-street"} and there.stage.config == DraftStage().config
    assert isinstance(there.stage.backend, PooledLLM) and there.stage.backend.pool is process_pool()
    assert there.stage.backend.config == LLMConfig()
    assert not pool.setups  # nothing was loaded to describe the work


@dataclass(frozen=True)
class Item:
    video_id: str
    n: int


@dataclass(frozen=True)
class Done:
    n: int
    thread: str


class Sleeper:
    """A stand-in for a stage's batch method: slow, and says which thread ran it."""

    def run(self, batch: list[Item], views: Any) -> list[Done]:
        time.sleep(2.0)
        return [Done(i.n, threading.current_thread().name) for i in batch]


def test_batches_run_as_tasks_at_once_and_none_starts_after_the_timeout(tmp_path: Path) -> None:
    """In a flow, the batches of a stage are tasks on the run's task runner: two workers run two batches at once;
    a batch that a worker would start after the stage's timeout does not start, and its items are `timeout`
    (not cached: the next run computes them, and finds the others in the cache)."""
    config = load_config(None, ["run.llm_batch=2", "run.timeouts.draft=1"])
    ctx = RunContext(tmp_path, config, StageCache(tmp_path), StagePool())
    items = [Item("v", n) for n in range(8)]
    keys = [f"k{n}" for n in range(8)]
    work: Work[Item, Done] = Work(Sleeper(), "run", {"v": None})  # type: ignore[dict-item]

    runner: Any = ThreadPoolTaskRunner(max_workers=2)
    summaries = [SynthesisSummary(), SynthesisSummary()]

    @flow(task_runner=runner, persist_result=False, validate_parameters=False)
    def draft(run: int) -> tuple[list[Done], float]:
        batches = CachedBatches(ctx, "draft", summaries[run], lambda n: None, lambda n: None)
        t0 = time.perf_counter()
        out = batches.map(keys, items, work, Done, late=lambda i, why: Done(i.n, why.reason))
        return out, time.perf_counter() - t0

    out, seconds = draft(0)
    ran = [d for d in out if d.thread != "timeout"]
    assert [d.n for d in out] == list(range(8))
    assert [d.n for d in ran] == [0, 1, 2, 3] and len({d.thread for d in ran}) == 2
    assert seconds < 3.9  # two batches of 2 s at once, not one after the other
    assert summaries[0].ran["draft"] == 4 and [d.thread for d in out[4:]] == ["timeout"] * 4
    ctx.config = load_config(None, ["run.llm_batch=2"])
    again, _ = draft(1)
    assert again[:4] == ran and all(d.thread != "timeout" for d in again)
    assert (summaries[1].cached["draft"], summaries[1].ran["draft"]) == (4, 4)


@pytest.mark.slow
def test_llm_batches_on_two_dask_workers_give_the_same_rows_as_threads(
    inputs: Path, threads_dataset: Path, tmp_path: Path
) -> None:
    """draft, refine and difficulty through pools: on a cluster of two worker processes the rows are those of two
    threads, and each worker loaded its LLM once. Both runs start from the same perception (a copy of it)."""
    distributed = pytest.importorskip("distributed")
    paths = sorted(inputs.iterdir())
    threads, dask = tmp_path / "threads", tmp_path / "dask"
    shutil.copytree(threads_dataset, threads)
    shutil.copytree(threads_dataset, dask)
    config = load_config(None, [*SYNTHESIS, "run.workers=2"])
    by_threads = run_curate(paths, threads, config, until="pools", show_progress=False, card=False).synthesis
    env = {"PREFECT_API_URL": prefect_api_url()}
    with (
        local_cluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        overrides = [*SYNTHESIS, "run.runner=dask", f"run.dask_address={cluster.scheduler_address}"]
        by_dask = run_curate(paths, dask, load_config(None, overrides), until="pools", show_progress=False).synthesis
        setups = client.run(lambda: dict(process_pool().setups))
    assert by_threads is not None and by_dask is not None
    for stage in ("draft", "refine", "difficulty"):
        assert by_dask.ran[stage] == by_threads.ran[stage] > 0, stage
    for table in SYNTHESIS_TABLES:
        assert _rows(dask, table) == _rows(threads, table), table
    assert all(len(_rows(dask, t)) > 0 for t in ("cot", "rl", "sft"))
    # Every LLM stage uses the embedded model with default settings: one load per worker that ran batches.
    loads = [counts.get("llm", 0) for counts in setups.values()]
    assert len(loads) == 2 and max(loads) == 1 and sum(loads) >= 1, setups
