"""benchmarks/records.py rows with ids unique per video: the store supersedes rows by key (schemas/keys.py),
so two videos written from records.py as they are would share task, chain and pool ids and the second would
replace the first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.records import sample_records
from schemas.store import DatasetWriter

ID_COLUMNS = ("task_id", "cot_id", "sample_id", "pair_id", "negative_id", "anchor_id")


def keyed_records(vid: str = "a" * 64) -> dict[str, list[Any]]:
    """`sample_records(vid)` with t1, c1, s1… suffixed by the video's first 8 characters (rejects left as they are)."""
    records = sample_records(vid)
    for table in ("tasks", "cot", "sft", "rl", "pairs", "negatives"):
        for r in records[table]:
            for key in ID_COLUMNS:
                if hasattr(r, key):
                    setattr(r, key, f"{getattr(r, key)}-{vid[:8]}")
            if table == "rl":
                r.negatives = [f"{n}-{vid[:8]}" for n in r.negatives]
    return records


def add_revision(root: Path, vid: str) -> int:
    """One revision holding `keyed_records(vid)`; returns its number."""
    with DatasetWriter(root) as w:
        for table, rows in keyed_records(vid).items():
            w.append(table, rows)
        return w.commit()
