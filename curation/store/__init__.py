"""The dataset store: Parquet shards named by content hash, listed by an atomically replaced manifest."""

from curation.store.errors import (
    CorruptShard,
    DatasetLocked,
    DatasetNotFound,
    SchemaVersionError,
    StoreError,
)
from curation.store.lock import DatasetLock
from curation.store.manifest import Manifest, Revision, Shard, load_manifest
from curation.store.reader import Dataset
from curation.store.writer import DatasetWriter

__all__ = [
    "CorruptShard",
    "Dataset",
    "DatasetLock",
    "DatasetLocked",
    "DatasetNotFound",
    "DatasetWriter",
    "Manifest",
    "Revision",
    "SchemaVersionError",
    "Shard",
    "StoreError",
    "load_manifest",
]
