"""Side-by-side benchmarks' child processes: other git revisions checked out beside this one, and timed runs."""

from __future__ import annotations

import resource
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def worktrees(revs: Iterable[str], where: Path) -> Iterator[dict[str, Path]]:
    """A detached git worktree of each revision under `where` ({rev: path}), removed on the way out."""
    made: dict[str, Path] = {}
    try:
        for rev in revs:
            path = where / f"wt-{rev.replace('/', '_')}"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(path), rev], check=True)
            made[rev] = path
        yield made
    finally:
        for path in made.values():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def run_timed(
    cmd: list[str], cwd: Path, env: dict[str, str], capture: bool = False
) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """One child process run to completion: its result (output captured when `capture`, else discarded), wall
    seconds and CPU seconds (user + system, its threads included)."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=out, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
