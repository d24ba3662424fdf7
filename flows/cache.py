"""Per-video stage results cached across runs, keyed by stage, stage config hash and content hash.

An entry is a folder `DATASET/.cache/STAGE/CONFIG_HASH/KEY/` holding `outcome.json` and one Parquet file per
table the stage produced. Entries are written to a temp folder and renamed into place, so a run killed mid-write
leaves no half entry, and a re-run finds exactly the work that finished.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
    cache_hit: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class StageCache:
    def __init__(self, dataset: Path) -> None:
        self.root = Path(dataset) / CACHE_DIR
        self.failed_writes = 0

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

    def has_table(self, stage: str, config_hash: str, key: str, table: str) -> bool:
        return (self.entry(stage, config_hash, key) / f"{table}.parquet").is_file()

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
