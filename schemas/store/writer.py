"""Append shards to a dataset as one new revision, atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import TABLES, schema_for, to_arrow
from schemas.store.atomic import fsync_dir, sha256_file
from schemas.store.errors import StoreError
from schemas.store.lock import DatasetLock
from schemas.store.manifest import (
    Manifest,
    Revision,
    Shard,
    load_manifest,
    manifest_path,
    now,
    save_manifest,
)

STAGING = ".staging"
# Tables that hold image bytes get small row groups so scans that skip them stay cheap.
ROW_GROUP_ROWS = {"frames": 512}
DEFAULT_ROW_GROUP_ROWS = 65_536


class DatasetWriter:
    """Writes one revision. Use as a context manager; nothing is visible until `commit()`.

    Shards are staged under `.staging/`, fsynced, named by the sha256 of their bytes, moved into their table
    folders, and only then listed in a new `manifest.json` (replaced atomically, last). A writer killed at any
    point leaves the previous revision intact; its leftovers are removed when the next writer opens.
    """

    def __init__(self, root: Path | str, wait: float = 0.0) -> None:
        self.root = Path(root)
        self.lock = DatasetLock(self.root, wait=wait)
        self._pending: list[tuple[str, Path, int]] = []
        self.manifest: Manifest | None = None

    def __enter__(self) -> DatasetWriter:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        try:
            self.manifest = load_manifest(self.root) if manifest_path(self.root).exists() else Manifest()
            self._remove_leftovers()
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        shutil.rmtree(self.root / STAGING, ignore_errors=True)
        self.lock.release()

    def _remove_leftovers(self) -> None:
        """Delete shards a killed writer moved into place but never listed, and its staging folder."""
        assert self.manifest is not None
        listed = {s.file for s in self.manifest.shards}
        for table in TABLES:
            folder = self.root / table
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                rel = f"{table}/{f.name}"
                if f.suffix == ".parquet" and rel not in listed:
                    f.unlink()
        shutil.rmtree(self.root / STAGING, ignore_errors=True)

    def append(self, table: str, data: pa.Table | list[Any]) -> int:
        """Stage rows for `table` (records or an Arrow table with the table's schema). Returns rows staged."""
        if self.manifest is None:
            raise StoreError("writer is not open")
        schema = schema_for(table)
        arrow = to_arrow(table, data) if isinstance(data, list) else data
        if arrow.num_rows == 0:
            return 0
        if not arrow.schema.equals(schema, check_metadata=False):
            try:
                arrow = arrow.select(schema.names).cast(schema)
            except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
                raise StoreError(f"rows for table {table!r} do not match its schema: {e}") from None
        staging = self.root / STAGING
        tmp = staging / f"{table}-{uuid.uuid4().hex}.parquet"
        try:
            staging.mkdir(exist_ok=True)
            pq.write_table(
                arrow,
                tmp,
                compression="zstd",
                row_group_size=ROW_GROUP_ROWS.get(table, DEFAULT_ROW_GROUP_ROWS),
            )
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        except OSError as e:  # a full disk or a read-only mount: nothing is published, the manifest is untouched
            with contextlib.suppress(OSError):  # a read-only mount refuses even this
                tmp.unlink()
            raise self._write_error(f"writing a {table!r} shard", e) from None
        self._pending.append((table, tmp, arrow.num_rows))
        return arrow.num_rows

    def commit(
        self,
        config: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> int:
        """Publish everything staged as a new revision; returns its number (unchanged when nothing was staged)."""
        if self.manifest is None:
            raise StoreError("writer is not open")
        if not self._pending:
            return self.manifest.revision
        try:
            return self._publish(config, provenance, summary)
        except OSError as e:
            # The old manifest is still in place (it is replaced last, atomically); shards already moved are
            # unlisted leftovers that the next writer removes.
            self.manifest = load_manifest(self.root) if manifest_path(self.root).exists() else Manifest()
            self._pending.clear()
            raise self._write_error("publishing the new revision", e) from None

    def _write_error(self, doing: str, e: OSError) -> StoreError:
        assert self.manifest is not None
        return StoreError(
            f"cannot write to dataset {self.root} ({doing}): {e.strerror or e}; nothing was published, the dataset "
            f"is unchanged at revision {self.manifest.revision}"
        )

    def _publish(
        self, config: dict[str, Any] | None, provenance: dict[str, Any] | None, summary: dict[str, Any] | None
    ) -> int:
        assert self.manifest is not None
        revision = self.manifest.revision + 1
        new_shards = []
        touched = set()
        for table, tmp, rows in self._pending:
            digest = sha256_file(tmp)
            folder = self.root / table
            folder.mkdir(exist_ok=True)
            rel = f"{table}/{digest[:32]}.parquet"
            if any(s.file == rel for s in self.manifest.shards):
                tmp.unlink()  # identical bytes are already part of the dataset
                continue
            size = tmp.stat().st_size
            os.replace(tmp, self.root / rel)
            touched.add(folder)
            new_shards.append(Shard(table, rel, rows, size, digest, revision))
        for folder in touched:
            fsync_dir(folder)
        self._pending.clear()
        if not new_shards:
            return self.manifest.revision
        self.manifest.shards.extend(new_shards)
        self.manifest.revisions.append(
            Revision(
                revision=revision,
                created=now(),
                command=" ".join(sys.argv),
                config=config or {},
                provenance=provenance or {},
                summary=summary or {},
            )
        )
        save_manifest(self.root, self.manifest)
        return revision
