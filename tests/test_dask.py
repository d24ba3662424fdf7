"""Scale-out: the perception stages on Dask worker processes give the same rows as the default thread runner."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from curation.probe import ProbeConfig, ProbeStage
from flows.config import load_config
from flows.curate import run_curate
from flows.errors import UserError
from flows.runners import build_task_runner, check_scheduler, local_cluster, prefect_api_url
from flows.workers import StagePool, process_pool
from schemas.store.query import connect
from tests.runs import copy_clips

# Speech (ASR rows), on-screen text (OCR evidence), no audio, a plain clip, and one too short (a probe reject).
CLIPS = ("cuts_narrated.mp4", "onscreen_text.mp4", "no_audio.mp4", "shapes.mp4", "tiny.mp4")
TABLES = ("videos", "shots", "frames", "segments", "words", "evidence", "rejects")
UNTIL = "evidence"


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
