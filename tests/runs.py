"""Running the `vidcot` CLI from tests: the repository root, and killing a run the way a crash would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
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
