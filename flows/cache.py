"""Stage results cached across runs, keyed by stage, stage key (curation.stage.stage_key) and item key.

The stage key changes with whatever changes a stage's results (code version, result-changing config, prompt
templates, models, and the keys of the stages it needs); the item key is a video's content hash (a file's path,
size and mtime for probe), or a task's or chain's id for the collection stages' LLM work.

An entry is a folder `DATASET/.cache/STAGE/STAGE_KEY/KEY/` holding `outcome.json` and one Parquet file per
table the stage produced. Entries are written to a temp folder and renamed into place, so a run killed mid-write
leaves no half entry, and a re-run finds exactly the work that finished (and sweeps the temp folders, `sweep`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

CACHE_DIR = ".cache"

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one stage did to one video: ok or rejected (with reason), how long it took, what it produced."""

    stage: str
    key: str
    status: str  # "ok" | "rejected"
    reason: str | None = None
    detail: str = ""
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    payload: dict[str, Any] | None = None  # a result that is no table row (a difficulty estimate), as JSON
    cache_hit: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class StageCache:
    def __init__(self, dataset: Path) -> None:
        self.root = Path(dataset) / CACHE_DIR
        self.failed_writes = 0

    def sweep(self) -> int:
        """Remove the temp folders of entries that killed runs were writing (with several workers a kill can land
        while one of them writes); they are never read, since an entry exists only once renamed into place. Only
        for the run holding the dataset's writer lock. Returns how many were removed."""
        stale = list(self.root.glob("*/*/.tmp-*"))
        for tmp in stale:
            shutil.rmtree(tmp, ignore_errors=True)
        return len(stale)

    def entry(self, stage: str, config_hash: str, key: str) -> Path:
        return self.root / stage / config_hash / key

    def get(self, stage: str, config_hash: str, key: str) -> Outcome | None:
        path = self.entry(stage, config_hash, key) / "outcome.json"
        if not path.is_file():
            return None
        doc = json.loads(path.read_text())
        doc["cache_hit"] = True
        return Outcome(**doc)

    def table(self, stage: str, config_hash: str, key: str, table: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.entry(stage, config_hash, key) / f"{table}.parquet", columns=columns)

    def put(self, stage: str, config_hash: str, outcome: Outcome, tables: dict[str, pa.Table]) -> bool:
        """Store one result; False (logged in one line, no half entry left) when the disk refuses the write."""
        target = self.entry(stage, config_hash, outcome.key)
        tmp = target.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            for name, data in tables.items():
                pq.write_table(data, tmp / f"{name}.parquet", compression="zstd")
            doc = asdict(outcome)
            doc.pop("cache_hit")
            (tmp / "outcome.json").write_text(json.dumps(doc))
            if target.exists():  # an identical result from an earlier, interrupted run
                shutil.rmtree(target)
            os.replace(tmp, target)
        except OSError as e:  # a full or read-only disk: the caller decides what the missing entry costs
            shutil.rmtree(tmp, ignore_errors=True)
            # Once per cache: on a full disk every later video fails the same way (the run summary counts them).
            level = logging.DEBUG if self.failed_writes else logging.WARNING
            self.failed_writes += 1
            log.log(level, "cannot cache %s result for %s: %s", stage, outcome.key, _os_reason(e))
            return False
        return True


def _os_reason(e: OSError) -> str:
    """`No space left on device` rather than pyarrow's long wrapped message."""
    return os.strerror(e.errno) if e.errno else str(e).splitlines()[0]
