"""Write a new revision of a dataset atomically: new rows, superseding old ones by key."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from schemas import TABLES, schema_for, to_arrow
from schemas.keys import children_of, lineage_order
from schemas.store import folders
from schemas.store.atomic import fsync_dir, sha256_file
from schemas.store.errors import StoreError
from schemas.store.history import archive, leftovers, release
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
from schemas.store.supersede import Scope, TableChange, resolve, staged_rows

STAGING = ".staging"
# Tables that hold image bytes get small row groups so scans that skip them stay cheap.
ROW_GROUP_ROWS = {"frames": 512}
DEFAULT_ROW_GROUP_ROWS = 65_536


class DatasetWriter:
    """Writes one revision. Use as a context manager; nothing is visible until `commit()`.

    `append` stages rows that supersede the rows with their keys (schemas/keys.py); `replace` stages the complete
    rows of a table for some videos. `commit` resolves both against the latest revision (see there), so the latest
    view holds one row per key and no row derived from a row that left; older revisions keep reading as they were.

    Shards are staged under `.staging/`, fsynced, named by the sha256 of their bytes, and moved into a new folder
    per changed table under `.tables/` beside links to the shards the table keeps; shards that leave the latest view
    are linked into `.history/TABLE/` (schemas/store/history.py). Then each table folder `DS/TABLE` — a symbolic
    link — is switched to its new folder in one rename (schemas/store/folders.py), and only then is the new
    `manifest.json` written (replaced atomically, last). So a table folder holds one revision's shards at every
    instant, and a writer killed at any point leaves the previous revision intact for manifest readers; the next
    writer puts the folders back in line with the manifest and removes the leftovers.
    """

    def __init__(self, root: Path | str, wait: float = 0.0) -> None:
        self.root = Path(root)
        self.lock = DatasetLock(self.root, wait=wait)
        self._pending: list[tuple[str, Path, int]] = []
        self._covered: dict[str, list[Scope]] = {}  # table -> rows `replace` sets in full in this revision
        self.manifest: Manifest | None = None
        self.changes: dict[str, TableChange] = {}  # what the last commit changed, per table

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
        """Delete what a killed writer left unlisted (shards moved into place or archived but never listed, shards
        archived whose old path it did not unlink), and its staging folder. A file the manifest lists is kept."""
        assert self.manifest is not None
        folders.reconcile(self.root, self.manifest)
        for f in leftovers(self.root, self.manifest):
            f.unlink()
        shutil.rmtree(self.root / STAGING, ignore_errors=True)

    def append(self, table: str, data: pa.Table | list[Any]) -> int:
        """Stage rows for `table` (records or an Arrow table with the table's schema). Returns rows staged.

        A staged row whose key (schemas/keys.py) is already in the dataset supersedes the row there when the
        revision is committed; one identical to the row there is not written again. Of rows staged twice under one
        key in one revision, the last wins.
        """
        if self.manifest is None:
            raise StoreError("writer is not open")
        arrow = self._conform(table, data)
        if arrow.num_rows == 0:
            return 0
        self._stage(table, arrow)
        return arrow.num_rows

    def replace(
        self,
        table: str,
        data: pa.Table | list[Any],
        videos: Iterable[str],
        where: Mapping[str, Iterable[str]] | None = None,
    ) -> int:
        """Stage the complete rows of `table` for `videos`: after the commit the latest view holds exactly these
        rows for those videos (keys no longer produced disappear; identical rows are kept, not rewritten), and rows
        of other videos are untouched. `data` may be empty (the videos have no rows now). With `where` (column ->
        values), only the rows of those videos whose column holds one of the values are set, e.g. the rejects of
        some stages: `where={"stage": ["probe", "shots"]}`. Calls add up: rows staged for the same videos in several
        calls of one revision are all kept. Rows without a video (a reject of a file that never became a video)
        supersede by key only, as with `append`. Returns rows staged.
        """
        if self.manifest is None:
            raise StoreError("writer is not open")
        covered = frozenset(str(v) for v in videos)
        arrow = self._conform(table, data)
        outside = set(arrow.column("video_id").to_pylist()) - covered - {None}
        if outside:
            raise StoreError(
                f"replace({table!r}) got rows of {len(outside)} video(s) not among the videos it replaces "
                f"(e.g. {sorted(map(str, outside))[0]!r})"
            )
        filters: list[tuple[str, tuple[str, ...]]] = []
        for column, values in (where or {}).items():
            allowed = tuple(sorted({str(v) for v in values}))
            if column not in arrow.column_names:
                raise StoreError(f"replace({table!r}, where=...) names {column!r}, which is not a column of {table}")
            stray = set(arrow.column(column).to_pylist()) - set(allowed)
            if stray:
                raise StoreError(
                    f"replace({table!r}) got rows with {column} = {sorted(map(str, stray))[0]!r}, outside its where="
                )
            filters.append((column, allowed))
        self._covered.setdefault(table, []).append(Scope(covered, tuple(filters)))
        if arrow.num_rows:
            self._stage(table, arrow)
        return arrow.num_rows

    def _conform(self, table: str, data: pa.Table | list[Any]) -> pa.Table:
        schema = schema_for(table)
        arrow = to_arrow(table, data) if isinstance(data, list) else data
        if not arrow.schema.equals(schema, check_metadata=False):
            try:
                arrow = arrow.select(schema.names).cast(schema)
            except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
                raise StoreError(f"rows for table {table!r} do not match its schema: {e}") from None
        return arrow

    def _stage(self, table: str, arrow: pa.Table) -> None:
        staging = self.root / STAGING
        tmp = staging / f"{table}-{uuid.uuid4().hex}.parquet"
        try:
            staging.mkdir(exist_ok=True)
            self._write_shard(arrow, tmp, table)
        except OSError as e:  # a full disk or a read-only mount: nothing is published, the manifest is untouched
            with contextlib.suppress(OSError):  # a read-only mount refuses even this
                tmp.unlink()
            raise self._write_error(f"writing a {table!r} shard", e) from None
        self._pending.append((table, tmp, arrow.num_rows))

    @staticmethod
    def _write_shard(data: pa.Table | Iterable[pa.Table], path: Path, table: str, conform: bool = True) -> int:
        """Write one zstd Parquet shard with the table's schema and fsync it; returns rows written. Without
        `conform`, a table keeps its own schema (the surviving rows of a shard an older vidcot wrote)."""
        schema = schema_for(table) if conform or not isinstance(data, pa.Table) else data.schema
        rows = 0
        group = ROW_GROUP_ROWS.get(table, DEFAULT_ROW_GROUP_ROWS)
        with pq.ParquetWriter(path, schema, compression="zstd") as out:
            if isinstance(data, pa.Table):
                out.write_table(data.cast(schema), row_group_size=group)
                rows = data.num_rows
            else:
                for part in data:
                    if part.num_rows:
                        out.write_table(part.cast(schema), row_group_size=group)
                        rows += part.num_rows
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        return rows

    def commit(
        self,
        config: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> int:
        """Publish everything staged as a new revision; returns its number (unchanged when nothing changed).

        Rows are resolved against the latest revision by key: new and changed rows are written, identical ones are
        not, superseded rows and rows that `replace` no longer produces leave the latest view, and so do rows of
        derived tables (schemas/keys.py PARENTS) for every video with a row that left, unless this revision wrote or
        confirmed them (so no row points at a superseded parent). Shards holding rows that leave are replaced by
        shards of their surviving rows; the old shards stay listed for older revisions, moved out of the table folder
        into `.history/TABLE/`. What changed per table is in `changes` afterwards.
        """
        if self.manifest is None:
            raise StoreError("writer is not open")
        self.changes = {}
        if not self._pending and not self._covered:
            return self.manifest.revision
        try:
            return self._publish(config, provenance, summary)
        except OSError as e:
            # The old manifest is still in place (it is replaced last, atomically); shards already moved are
            # unlisted leftovers that the next writer removes.
            self.manifest = load_manifest(self.root) if manifest_path(self.root).exists() else Manifest()
            raise self._write_error("publishing the new revision", e) from None
        finally:
            for _, tmp, _ in self._pending:  # staged rows are in new shards now (or were not needed)
                with contextlib.suppress(OSError):
                    tmp.unlink()
            self._pending.clear()
            self._covered.clear()

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
        staging = self.root / STAGING
        staging.mkdir(exist_ok=True)
        staged: list[tuple[str, Path, int]] = []  # (table, file, rows) to list as new shards
        dropped: set[str] = set()  # files of shards that leave the latest view
        changes: dict[str, TableChange] = {}
        derived_stale: dict[str, set[str]] = {}  # table -> videos with a parent row that left the view
        live = {t: self.manifest.shards_of(t) for t in TABLES}
        with duckdb.connect(":memory:") as con:
            for table in lineage_order():
                parts = [p for t, p, _ in self._pending if t == table]
                scopes = list(self._covered.get(table, []))
                if derived_stale.get(table):
                    scopes.append(Scope(frozenset(derived_stale[table])))
                if not parts and not scopes:
                    continue
                plan = resolve(con, self.root, table, parts, live[table], scopes)
                replaced = {v for sc in self._covered.get(table, []) for v in sc.videos}
                change = TableChange(videos_covered=len(replaced | plan.videos_written))
                if plan.new_rows:
                    tmp = staging / f"{table}-{uuid.uuid4().hex}.parquet"
                    change.written = self._write_shard(staged_rows(parts, plan.new_rows), tmp, table)
                    staged.append((table, tmp, change.written))
                for shard in live[table]:
                    gone = plan.removed.get(shard.file)
                    if not gone:
                        continue
                    change.removed += len(gone)
                    dropped.add(shard.file)
                    kept = _without_rows(self.root / shard.file, gone)
                    if kept.num_rows:
                        tmp = staging / f"{table}-{uuid.uuid4().hex}.parquet"
                        self._write_shard(kept, tmp, table, conform=False)
                        staged.append((table, tmp, kept.num_rows))
                if change.written or change.removed or change.videos_covered:  # confirmed tables are recorded too
                    changes[table] = change
                for child in children_of(table):
                    derived_stale.setdefault(child, set()).update(plan.videos_changed)
        if not any(c.written or c.removed for c in changes.values()):
            for _, tmp, _ in staged:
                tmp.unlink()
            return self.manifest.revision
        new_shards: list[Shard] = []
        arriving: dict[str, list[tuple[str, Path]]] = {}  # table -> (file name, staged file) to move in
        listed_live = {s.file for t in TABLES for s in live[t]} - dropped
        for table, tmp, rows in staged:
            digest = sha256_file(tmp)
            rel = f"{table}/{digest[:32]}.parquet"
            if rel in listed_live:  # identical bytes are already part of the latest view
                tmp.unlink()
                continue
            size = tmp.stat().st_size
            arriving.setdefault(table, []).append((Path(rel).name, tmp))
            listed_live.add(rel)
            new_shards.append(Shard(table, rel, rows, size, digest, revision))
        # Each changed table's new folder is built aside: the shards it keeps linked in, the new ones moved in.
        changed = sorted(set(arriving) | {s.table for s in self.manifest.shards if s.file in dropped})
        built: dict[str, Path] = {}
        for table in changed:
            folder = folders.new_folder(self.root, table, revision)
            folders.fill(folder, self.root, [s for s in live[table] if s.file not in dropped])
            for name, tmp in arriving.get(table, []):
                os.replace(tmp, folder / name)
            fsync_dir(folder)
            built[table] = folder
        for shard in self.manifest.shards:
            if shard.file in dropped and shard.dropped is None:
                shard.dropped = revision
        # Every shard out of the latest view goes to the history folder (those dropped by a store that left them in
        # the table folders, too): linked there now, listed there by the new manifest.
        moved = archive(self.root, [s for s in self.manifest.shards if s.dropped is not None])
        for shard in self.manifest.shards:
            if shard.dropped is not None:  # a live entry may name the same bytes (rows that came back): it stays
                shard.file = moved.get(shard.file, shard.file)
        # Each table folder now shows its new revision in one rename; readers of the old manifest find the shards
        # it dropped in the history folder (reader.py `Dataset.locate`).
        for table, folder in built.items():
            folders.show(self.root, table, folder)
        if built:
            fsync_dir(self.root)
        self.manifest.shards.extend(new_shards)
        self.manifest.revisions.append(
            Revision(
                revision=revision,
                created=now(),
                command=" ".join(sys.argv),
                config=config or {},
                provenance=provenance or {},
                summary=summary or {},
                changes={t: asdict(c) for t, c in changes.items()},
                unique_keys=True,
            )
        )
        save_manifest(self.root, self.manifest)
        self.changes = changes
        release(self.root, moved, self.manifest)
        folders.reconcile(self.root, self.manifest)  # removes the folders no table shows any more
        return revision


def _without_rows(path: Path, rows: set[int]) -> pa.Table:
    """The shard at `path` without the rows at the given positions."""
    table = pq.read_table(path)
    keep = np.ones(table.num_rows, dtype=bool)
    keep[np.fromiter(rows, dtype=np.int64, count=len(rows))] = False
    return table.filter(pa.array(keep))
