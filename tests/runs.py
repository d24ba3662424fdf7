"""Running `vidcot` from tests: the repository root, input folders of sample clips, and killing a run the way a
crash would."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def sigkill_run(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL a `vidcot` process started with `start_new_session=True` — the fault under test — then the rest of its
    process group: Prefect's ephemeral API server outlives a killed parent and would run on, orphaned."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def copy_clips(samples_dir: Path, names: Iterable[str], folder: Path) -> Path:
    """Copies the named sample clips into `folder` (made if missing), as a run's input folder; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(samples_dir / name, folder / name)
    return folder
