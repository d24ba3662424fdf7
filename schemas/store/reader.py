"""Read a dataset: Arrow tables over exactly the shards its manifest lists, each checked against the manifest.

Every reader (query, browse, cards, export, trainers) resolves a shard's path through `Dataset.path`, which checks
the file's size and sha256 against the manifest before it is read. A file is hashed once per process: the result is
kept by (device, inode, mtime, size), so a shard that changes on disk is hashed again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import TABLES, schema_for
from schemas.store.atomic import sha256_file
from schemas.store.errors import CorruptShard
from schemas.store.manifest import Manifest, Shard, history_file, load_manifest

# (absolute path, device, inode, mtime_ns, size) -> sha256 of the bytes hashed for that stat.
_HASHED: dict[tuple[str, int, int, int, int], str] = {}
_HASHED_LOCK = threading.Lock()


def _stat_key(path: Path) -> tuple[str, int, int, int, int]:
    st = os.stat(path)
    return (os.path.abspath(path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def cached_sha256(path: Path) -> str:
    """sha256 of `path`, hashed again only when its device, inode, mtime or size changed since the last time."""
    key = _stat_key(path)
    with _HASHED_LOCK:
        known = _HASHED.get(key)
    if known is not None:
        return known
    digest = sha256_file(path)
    if _stat_key(path) == key:  # changed while hashed: do not remember a hash of bytes that may be gone
        with _HASHED_LOCK:
            _HASHED[key] = digest
    return digest


class Dataset:
    """A read-only view of a dataset at one revision (the latest by default)."""

    def __init__(self, root: Path | str, revision: int | None = None) -> None:
        self.root = Path(root)
        self.manifest: Manifest = load_manifest(self.root)
        self.revision = self.manifest.revision if revision is None else revision
        self.manifest.shards_of(TABLES[0], self.revision)  # validates the revision number

    def shards(self, table: str) -> list[Shard]:
        schema_for(table)
        return self.manifest.shards_of(table, self.revision)

    def files(self, table: str) -> list[Path]:
        """Paths of the table's shards, in the order they were written, each checked against the manifest."""
        return [self.path(s) for s in self.shards(table)]

    def locate(self, shard: Shard) -> Path:
        """Where the shard's bytes are: its listed path, or its history path when a writer moved it there and was
        stopped before it listed the move (the bytes are the same; the checksum says so)."""
        path = self.root / shard.file
        if not path.is_file():
            moved = self.root / history_file(shard.file)
            if moved.is_file():
                return moved
        return path

    def path(self, shard: Shard) -> Path:
        """The shard's path, after checking its size and sha256 against the manifest (hashed once per process).
        Raises CorruptShard naming the shard on any mismatch."""
        path = self.locate(shard)
        self._check_path(shard, path)
        try:
            digest = cached_sha256(path)
        except OSError as e:
            raise CorruptShard(f"shard {shard.file} cannot be read: {e.strerror or e}") from None
        if digest != shard.sha256:
            raise CorruptShard(f"shard {shard.file} does not match its manifest checksum (sha256); the file changed")
        return path

    def read_shard(self, shard: Shard, columns: list[str] | None = None) -> pa.Table:
        """One shard as Arrow, checked first."""
        path = self.path(shard)
        try:
            return pq.read_table(path, columns=columns)
        except (OSError, pa.ArrowInvalid) as e:
            raise CorruptShard(f"shard {shard.file} cannot be read: {e}") from None

    def rows(self, table: str) -> int:
        return sum(s.rows for s in self.shards(table))

    def check(self, shard: Shard, full: bool = False) -> None:
        """Raise CorruptShard if a shard is missing, has the wrong size, or (with `full`) the wrong sha256, hashed
        afresh (readers use `path`, which hashes a file once per process)."""
        path = self.locate(shard)
        self._check_path(shard, path)
        if full and sha256_file(path) != shard.sha256:
            raise CorruptShard(f"shard {shard.file} does not match its manifest checksum (sha256)")

    def _check_path(self, shard: Shard, path: Path) -> None:
        if not path.resolve().is_relative_to(self.root.resolve()):  # a shard linked to a file elsewhere
            raise CorruptShard(f"shard {shard.file} listed in the manifest lies outside the dataset {self.root}")
        if not path.is_file():
            raise CorruptShard(f"shard {shard.file} listed in the manifest is missing from {self.root}")
        if path.stat().st_size != shard.bytes:
            raise CorruptShard(f"shard {shard.file} is {path.stat().st_size} bytes; the manifest says {shard.bytes}")

    def verify(self) -> int:
        """Check every shard's checksum; returns the number checked."""
        shards = [s for t in TABLES for s in self.shards(t)]
        for s in shards:
            self.check(s, full=True)
        return len(shards)

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """The table as Arrow; each shard is checked against the manifest before it is read."""
        schema = schema_for(table)
        parts = [self.read_shard(shard, columns) for shard in self.shards(table)]
        if not parts:
            empty = schema if columns is None else pa.schema([schema.field(c) for c in columns])
            return empty.empty_table()
        return pa.concat_tables(parts, promote_options="default")
