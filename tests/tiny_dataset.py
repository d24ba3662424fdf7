"""A real dataset of a few small videos, written with the store's own writer: for command-line and browse tests
that need every table filled but no pipeline run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.keyed_records import keyed_records
from schemas.store import DatasetWriter


def tiny_dataset(root: Path, videos: int = 1, extra: dict[str, list[Any]] | None = None) -> Path:
    """One revision with `videos` videos (at most 16; benchmarks/keyed_records.py rows for each),
    the one probe reject that records.py holds, and the `extra` rows by table. Returns `root`."""
    with DatasetWriter(root) as w:
        for i in range(videos):
            vid = f"{i:x}" * 64  # ids derive from the first 16 characters, so they differ there
            records = keyed_records(vid)
            if i > 0:
                records["rejects"] = []
            for table, rows in records.items():
                w.append(table, rows)
        for table, rows in (extra or {}).items():
            w.append(table, rows)
        w.commit()
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and modification time: equal snapshots mean nothing was written."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}
