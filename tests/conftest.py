"""Shared fixtures: the sample media (built once per machine into the vidcot cache), a scratch dataset, the
pipeline dataset curated end to end, and scripted chat servers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.llm_standins import ChatServer, Reply
from tests.runs import ROOT, copy_clips

# Prefect stops its temporary API server at interpreter exit and logs it to a stdout pytest has closed by then.
logging.raiseExceptions = False

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # slow starts on a busy 2-core box


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """All sample media with sidecars; generated deterministically, so a cached copy is as good as new."""
    from curation.samples import build_samples
    from trainers.embedded import cache_root

    out = cache_root() / "samples"
    build_samples(out)
    return out


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    return tmp_path / "ds"


@pytest.fixture
def chat_server() -> Iterator[Callable[[Callable[[dict[str, Any]], Reply]], ChatServer]]:
    """Starts scripted chat servers (`chat_server(respond)`), and stops them when the test ends."""
    servers: list[ChatServer] = []

    def start(respond: Callable[[dict[str, Any]], Reply]) -> ChatServer:
        servers.append(ChatServer(respond))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the pipeline dataset is slow (the dataset is curated end to end, minutes on two cores),
    whether or not it says so, so `-m "not slow"` never builds it."""
    for item in items:
        if "pipeline_dataset" in getattr(item, "fixturenames", ()) and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


PIPELINE_CLIPS = ("cuts_narrated.mp4", "onscreen_text.mp4", "shapes.mp4", "no_audio.mp4")
PIPELINE_CONFIG = """
tasks: {max_per_video: 1}
difficulty: {k: 2, max_new_tokens: 32}
"""


@pytest.fixture(scope="session")
def pipeline_dataset(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A dataset curated end to end (perception and synthesis) from four sample clips, and the run's JSON summary.

    Built once per test session through the real CLI; shared by every test that needs pools, so treat it as
    read-only (copy it before writing to it).
    """
    work = tmp_path_factory.mktemp("pipeline")
    copy_clips(samples_dir, PIPELINE_CLIPS, work)
    cfg = work / "small.yaml"
    cfg.write_text(PIPELINE_CONFIG)
    out = work / "ds"
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "curate", str(work), "--out", str(out), "--config", str(cfg),
         "--no-progress", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads(proc.stdout.strip().splitlines()[-1])
