"""The dataset store: Parquet shards named by content hash, listed by an atomically replaced manifest."""

from schemas.store.errors import (
    CorruptShard,
    DatasetLocked,
    DatasetNotFound,
    SchemaVersionError,
    StoreError,
)
from schemas.store.integrity import Verdict, verify_dataset
from schemas.store.lock import DatasetLock
from schemas.store.manifest import Manifest, Revision, Shard, load_manifest
from schemas.store.reader import Dataset
from schemas.store.supersede import TableChange
from schemas.store.writer import DatasetWriter

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
    "TableChange",
    "Verdict",
    "load_manifest",
    "verify_dataset",
]
