"""Read a dataset: Arrow tables over exactly the shards its manifest lists."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import TABLES, schema_for
from schemas.store.atomic import sha256_file
from schemas.store.errors import CorruptShard
from schemas.store.manifest import Manifest, Shard, load_manifest


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
        """Absolute paths of the table's shards, in the order they were written."""
        return [self.root / s.file for s in self.shards(table)]

    def rows(self, table: str) -> int:
        return sum(s.rows for s in self.shards(table))

    def check(self, shard: Shard, full: bool = False) -> None:
        """Raise CorruptShard if a shard is missing, has the wrong size, or (with `full`) the wrong sha256."""
        path = self.root / shard.file
        if not path.resolve().is_relative_to(self.root.resolve()):  # a shard linked to a file elsewhere
            raise CorruptShard(f"shard {shard.file} listed in the manifest lies outside the dataset {self.root}")
        if not path.is_file():
            raise CorruptShard(f"shard {shard.file} listed in the manifest is missing from {self.root}")
        if path.stat().st_size != shard.bytes:
            raise CorruptShard(f"shard {shard.file} is {path.stat().st_size} bytes; the manifest says {shard.bytes}")
        if full and sha256_file(path) != shard.sha256:
            raise CorruptShard(f"shard {shard.file} does not match its manifest checksum (sha256)")

    def verify(self) -> int:
        """Check every shard's checksum; returns the number checked."""
        shards = [s for t in TABLES for s in self.shards(t)]
        for s in shards:
            self.check(s, full=True)
        return len(shards)

    def read(self, table: str, columns: list[str] | None = None, verify: bool = True) -> pa.Table:
        """The table as Arrow. With `verify`, each shard's checksum is checked before it is read."""
        schema = schema_for(table)
        parts = []
        for shard in self.shards(table):
            self.check(shard, full=verify)
            try:
                parts.append(pq.read_table(self.root / shard.file, columns=columns))
            except (OSError, pa.ArrowInvalid) as e:
                raise CorruptShard(f"shard {shard.file} cannot be read: {e}") from None
        if not parts:
            empty = schema if columns is None else pa.schema([schema.field(c) for c in columns])
            return empty.empty_table()
        return pa.concat_tables(parts, promote_options="default")
