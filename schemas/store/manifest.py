"""`manifest.json`: the only record of which shards make up a dataset, and of its revisions."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from schemas import SCHEMA_VERSION
from schemas.store.atomic import atomic_write_bytes
from schemas.store.errors import DatasetNotFound, SchemaVersionError, StoreError

MANIFEST_NAME = "manifest.json"
FORMAT = "vidcot-dataset"


@dataclass
class Shard:
    table: str
    file: str  # relative to the dataset root, e.g. "shots/3f2a….parquet"
    rows: int
    bytes: int
    sha256: str
    revision: int


@dataclass
class Revision:
    revision: int
    created: str
    command: str
    config: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    schema_version: int = SCHEMA_VERSION
    shards: list[Shard] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)

    @property
    def revision(self) -> int:
        return self.revisions[-1].revision if self.revisions else 0

    def shards_of(self, table: str, revision: int | None = None) -> list[Shard]:
        """Shards of a table as of `revision` (the latest when None). Revisions only ever add shards."""
        if revision is not None and not 0 <= revision <= self.revision:
            raise StoreError(f"no revision {revision}: this dataset has revisions 1..{self.revision}")
        limit = self.revision if revision is None else revision
        return [s for s in self.shards if s.table == table and s.revision <= limit]

    def rows(self, table: str, revision: int | None = None) -> int:
        return sum(s.rows for s in self.shards_of(table, revision))

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "revision": self.revision,
            "revisions": [asdict(r) for r in self.revisions],
            "shards": [asdict(s) for s in self.shards],
        }
        return json.dumps(doc, indent=1, sort_keys=False).encode()

    @classmethod
    def from_json(cls, data: bytes, where: Path) -> Manifest:
        try:
            doc = json.loads(data)
        except ValueError as e:
            raise StoreError(f"{where} is not valid JSON ({e})") from None
        if doc.get("format") != FORMAT:
            raise StoreError(f"{where} is not a vidcot manifest")
        version = doc.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{where} has schema version {version}, newer than this vidcot understands "
                f"({SCHEMA_VERSION}); upgrade vidcot to read it"
            )
        return cls(
            schema_version=version,
            shards=[Shard(**s) for s in doc.get("shards", [])],
            revisions=[Revision(**r) for r in doc.get("revisions", [])],
        )


def manifest_path(root: Path) -> Path:
    return Path(root) / MANIFEST_NAME


def load_manifest(root: Path) -> Manifest:
    path = manifest_path(root)
    if not Path(root).is_dir():
        raise DatasetNotFound(f"no dataset at {root} (the directory does not exist)")
    if not path.is_file():
        raise DatasetNotFound(f"no dataset at {root} ({MANIFEST_NAME} is missing)")
    return Manifest.from_json(path.read_bytes(), path)


def save_manifest(root: Path, manifest: Manifest) -> None:
    atomic_write_bytes(manifest_path(root), manifest.to_json())


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
