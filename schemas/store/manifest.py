"""`manifest.json`: the only record of which shards make up a dataset, and of its revisions."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from schemas import SCHEMA_VERSION, TABLES
from schemas.store.atomic import atomic_write_bytes
from schemas.store.errors import DatasetNotFound, SchemaVersionError, StoreError

MANIFEST_NAME = "manifest.json"
FORMAT = "vidcot-dataset"
# Shards no longer in the latest view live in `.history/TABLE/`, out of the table folders, so that
# `load_dataset("parquet", data_dir="DS/TABLE")` on the folders as they are reads the latest view and nothing else.
HISTORY = ".history"


@dataclass
class Shard:
    table: str
    file: str  # relative to the dataset root: "shots/3f2a….parquet", or ".history/shots/3f2a….parquet" once dropped
    rows: int
    bytes: int
    sha256: str
    revision: int  # the revision that added the shard
    dropped: int | None = None  # the revision from which it is no longer part of the dataset (superseded rows)

    def live_at(self, revision: int) -> bool:
        return self.revision <= revision and (self.dropped is None or self.dropped > revision)

    @property
    def in_history(self) -> bool:
        return self.file.startswith(f"{HISTORY}/")


@dataclass
class Revision:
    revision: int
    created: str
    command: str
    config: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    # Per table: rows written, rows superseded or removed, and how many videos the revision covered (wrote, replaced
    # or confirmed). Supersession is resolved when a revision is written, so readers never need more than this.
    changes: dict[str, Any] = field(default_factory=dict)
    # True for revisions written by a store that supersedes rows by key: their views hold one row per key.
    unique_keys: bool = False


@dataclass
class Manifest:
    schema_version: int = SCHEMA_VERSION
    shards: list[Shard] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)

    @property
    def revision(self) -> int:
        return self.revisions[-1].revision if self.revisions else 0

    def shards_of(self, table: str, revision: int | None = None) -> list[Shard]:
        """Shards of a table as of `revision` (the latest when None).

        A revision adds shards and may drop some: a shard whose rows a later revision superseded is replaced by one
        holding its surviving rows, and stays listed (with `dropped`) so older revisions still read as they were.
        """
        if revision is not None and not 1 <= revision <= self.revision:
            raise StoreError(f"no revision {revision}: this dataset has revisions 1..{self.revision}")
        limit = self.revision if revision is None else revision
        return [s for s in self.shards if s.table == table and s.live_at(limit)]

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
        if not isinstance(version, int) or isinstance(version, bool):
            raise StoreError(f"{where} has no valid schema_version ({version!r}); the manifest was edited or damaged")
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"dataset written by a newer vidcot: {where} has schema version {version}, newer than this vidcot "
                f"understands ({SCHEMA_VERSION}); upgrade vidcot to read it"
            )
        try:
            shards = [Shard(**s) for s in doc.get("shards", [])]
            revisions = [Revision(**r) for r in doc.get("revisions", [])]
        except TypeError as e:
            raise StoreError(f"{where} is not a valid vidcot manifest ({e})") from None
        for s in shards:
            check_shard_path(s, where)
        return cls(schema_version=version, shards=shards, revisions=revisions)


# A shard is `TABLE/NAME.parquet` inside the dataset, or `.history/TABLE/NAME.parquet` once dropped: nothing the
# manifest names may lead a reader (or a writer's clean-up) outside the dataset folder.
_SHARD_FILE = re.compile(r"[A-Za-z0-9_-]+\.parquet")


def check_shard_path(shard: Shard, where: Path) -> None:
    """Raise StoreError unless `shard.file` is `TABLE/NAME.parquet` under the dataset root, for its own table, or
    (for a shard dropped from the latest view) `.history/TABLE/NAME.parquet`."""
    parts = str(shard.file).split("/")
    if parts[0] == HISTORY and shard.dropped is not None:
        parts = parts[1:]
    if (
        not isinstance(shard.file, str)
        or len(parts) != 2
        or parts[0] != shard.table
        or parts[0] not in TABLES
        or not _SHARD_FILE.fullmatch(parts[1])
    ):
        raise StoreError(
            f"{where} names shard {shard.file!r} of table {shard.table!r}, which is not a shard file inside the "
            f"dataset folder (TABLE/NAME.parquet, or {HISTORY}/TABLE/NAME.parquet once dropped); the manifest was "
            "edited or damaged"
        )


def history_file(file: str) -> str:
    """Where the shard `TABLE/NAME.parquet` lives once it is no longer part of the latest view."""
    return file if file.startswith(f"{HISTORY}/") else f"{HISTORY}/{file}"


def manifest_path(root: Path) -> Path:
    return Path(root) / MANIFEST_NAME


def load_manifest(root: Path) -> Manifest:
    path = manifest_path(root)
    if not Path(root).is_dir():
        what = "a file, not a dataset folder" if Path(root).exists() else "the directory does not exist"
        raise DatasetNotFound(f"no dataset at {root} ({what})")
    if not path.is_file():
        raise DatasetNotFound(f"no dataset at {root} ({MANIFEST_NAME} is missing)")
    return Manifest.from_json(path.read_bytes(), path)


def save_manifest(root: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically. It is written in this vidcot's format, so it says this schema version (an
    older dataset written again may now hold what an older vidcot cannot read, e.g. shards in the history)."""
    manifest.schema_version = SCHEMA_VERSION
    atomic_write_bytes(manifest_path(root), manifest.to_json())


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
