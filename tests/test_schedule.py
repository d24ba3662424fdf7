"""Scheduled curation: a real deployment on a local Prefect server picks up a newly dropped video on its next tick."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from curation.probe import sha256_file
from flows.config import load_config
from flows.errors import UserError
from flows.schedule import FLOW_NAME, build_deployment, pending_videos
from schemas.store.manifest import load_manifest, manifest_path
from schemas.store.query import connect

ROOT = Path(__file__).resolve().parents[1]
FIRST, SECOND, TOO_SHORT = "shapes.mp4", "no_audio.mp4", "tiny.mp4"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(
    what: str, check: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode} first")
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group this test started (serve pauses its schedule on it), then SIGKILL what is left."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # children (flow-run subprocesses, uvicorn) that outlived the leader
    proc.wait(timeout=10)


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`prefect server start` on 127.0.0.1 with its own PREFECT_HOME (a throwaway SQLite database)."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_for("prefect server", lambda: _healthy(url), timeout=180, proc=server)
        yield {**env, "PREFECT_API_URL": url}
    finally:
        _stop(server)
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _revision(dataset: Path) -> int:
    return load_manifest(dataset).revision if manifest_path(dataset).exists() else 0


def _video_ids(dataset: Path, revision: int) -> set[str]:
    return {r[0] for r in connect(dataset, revision=revision).execute("SELECT video_id FROM videos").fetchall()}


def _shots(dataset: Path, revision: int, video_id: str) -> list[tuple]:
    con = connect(dataset, revision=revision)
    return con.execute(
        "SELECT * EXCLUDE (provenance) FROM shots WHERE video_id = ? ORDER BY 1, 2", [video_id]
    ).fetchall()


@pytest.mark.slow
def test_a_scheduled_run_curates_a_newly_dropped_video(
    prefect_server: dict[str, str], samples_dir: Path, tmp_path: Path
) -> None:
    inbox, dataset = tmp_path / "inbox", tmp_path / "ds"
    inbox.mkdir()
    shutil.copy(samples_dir / FIRST, inbox / FIRST)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "schedule", str(inbox), "--out", str(dataset), "--interval", "5",
             "--until", "shots", "--name", "inbox-test"],
            stdout=log, stderr=subprocess.STDOUT, env=prefect_server, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        try:
            # The deployment exists on the server, with the interval schedule and the parameters it was given.
            url = prefect_server["PREFECT_API_URL"]
            deployment_url = f"{url}/deployments/name/{FLOW_NAME}/inbox-test"
            _wait_for("deployment", lambda: httpx.get(deployment_url).status_code == 200, 120, serve)
            deployment = httpx.get(deployment_url).json()
            assert deployment["entrypoint"] == "flows.schedule.scheduled_curate"
            assert [s["schedule"]["interval"] for s in deployment["schedules"]] == [5.0]
            assert deployment["parameters"]["input_dir"] == str(inbox.resolve())
            assert deployment["parameters"]["until"] == "shots"

            # First tick: the dataset is empty, so the clip already in the inbox is new.
            _wait_for("first scheduled run", lambda: _revision(dataset) == 1, 240, serve)
            first = sha256_file(inbox / FIRST)
            assert _video_ids(dataset, 1) == {first}
            # A tick with nothing new starts no curate run: no lock taken, no revision.
            _wait_for("an idle tick", lambda: "nothing new in" in log_path.read_text(errors="replace"), 120, serve)
            assert _revision(dataset) == 1

            # Drop a new video (copied aside, then renamed in, as a mover should) and a file too short to keep.
            for name in (SECOND, TOO_SHORT):
                shutil.copy(samples_dir / name, inbox / f".{name}.part")
                os.replace(inbox / f".{name}.part", inbox / name)
            _wait_for(
                "the run that picks up the new video",
                lambda: "as revision 2" in log_path.read_text(errors="replace"),
                240,
                serve,
            )
            assert _revision(dataset) == 2, "one tick, one revision"
        finally:
            _stop(serve)

    second = sha256_file(inbox / SECOND)
    assert _video_ids(dataset, 2) == {first, second}
    assert _shots(dataset, 2, first) == _shots(dataset, 1, first)  # the old rows stay as they were
    assert len(_shots(dataset, 2, second)) == 1 and _shots(dataset, 1, second) == []
    rejects = connect(dataset).execute("SELECT stage, reason, path FROM rejects").fetchall()
    assert rejects == [("probe", "too_short", str(inbox.resolve() / TOO_SHORT))]
    text = log_path.read_text(errors="replace")
    assert "2 new in" in text and "curated 2 new files" in text and "(1 kept, 1 rejected) as revision 2" in text
    # Stopping the server process pauses the schedule (flow.serve's pause_on_shutdown).
    deployment = httpx.get(deployment_url).json()
    assert deployment["paused"] is True


def test_pending_videos_are_those_whose_content_is_not_in_the_dataset(probed_dataset: Path) -> None:
    inbox, dataset = probed_dataset.parent / "inbox", probed_dataset
    config = load_config(None, [])
    pending = pending_videos(inbox, dataset, config)
    # The curated clip is known (by its cached probe), the too-short one was rejected before; the copy under a
    # new name has the same bytes as a curated clip, so it is not new either; only the fresh clip is.
    assert [p.name for p in pending.new] == ["fresh.mp4"]
    assert (pending.known, pending.rejected) == (2, 1)


@pytest.fixture
def probed_dataset(samples_dir: Path, tmp_path: Path) -> Path:
    """A dataset holding one probed clip and one probe rejection, curated up to `probe` in this process."""
    from flows.curate import run_curate

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(samples_dir / FIRST, inbox / FIRST)
    shutil.copy(samples_dir / TOO_SHORT, inbox / TOO_SHORT)
    dataset = tmp_path / "ds"
    run_curate(sorted(inbox.iterdir()), dataset, load_config(None, []), until="probe", show_progress=False)
    shutil.copy(samples_dir / FIRST, inbox / "same_bytes.mp4")
    shutil.copy(samples_dir / SECOND, inbox / "fresh.mp4")
    return dataset


def test_deployment_arguments_are_checked_before_serving(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ds = tmp_path / "ds"
    with pytest.raises(UserError, match="exactly one of --cron or --interval"):
        build_deployment("x", inbox, ds)
    with pytest.raises(UserError, match="positive"):
        build_deployment("x", inbox, ds, interval=0)
    with pytest.raises(UserError, match="does not exist"):
        build_deployment("x", tmp_path / "missing", ds, interval=60)
    with pytest.raises(UserError, match="bad schedule"):
        build_deployment("x", inbox, ds, cron="every tuesday")
    with pytest.raises(UserError, match="not a stage"):
        build_deployment("x", inbox, ds, interval=60, until="everything")
    with pytest.raises(UserError, match="shots.detector"):
        build_deployment("x", inbox, ds, interval=60, overrides=["shots.detector=nope"])
    dep = build_deployment("x", inbox, ds, cron="*/15 * * * *", overrides=["run.workers=2"], until="evidence")
    assert dep.entrypoint == "flows.schedule.scheduled_curate"
    assert dep.parameters["overrides"] == ["run.workers=2"] and dep.parameters["until"] == "evidence"
    assert dep.schedules[0].schedule.cron == "*/15 * * * *"


def test_schedule_without_a_server_is_one_line(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "schedule", str(inbox), "--out", str(tmp_path / "ds"), "--interval", "60"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("vidcot schedule: error: scheduling needs a Prefect server")
