"""DuckDB connections for the browser: a small pool of read-only views over the dataset's manifest.

Each connection is `schemas.store.query.connect` (a view per table over exactly the listed shards); nothing is ever
opened for writing. Requests borrow a connection, so concurrent requests (a page and its keyframe images) do not
share one DuckDB connection across threads. When a new revision replaces `manifest.json`, later requests get
connections over the new shards; with a fixed `--revision` the view never changes.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from schemas.store.manifest import manifest_path
from schemas.store.query import connect

POOL_SIZE = 4


def manifest_stamp(root: Path) -> int:
    """What identifies a dataset's current revision: its manifest's modification time (0 when there is none)."""
    try:
        return manifest_path(root).stat().st_mtime_ns
    except OSError:  # none, or DATASET is a file: connect() names what is wrong
        return 0


class DatasetViews:
    """Borrow DuckDB connections over one dataset (optionally pinned to a revision)."""

    def __init__(self, root: Path | str, revision: int | None = None, size: int = POOL_SIZE) -> None:
        self.root = Path(root)
        self.revision = revision
        self._idle: queue.LifoQueue[tuple[int, duckdb.DuckDBPyConnection]] = queue.LifoQueue(maxsize=size)
        # Open one connection now, so a missing or broken dataset is an error at start-up, not on the first page.
        stamp = self._stamp()
        self._idle.put((stamp, self._open()))

    def _stamp(self) -> int:
        """The dataset's current state (always 0 when pinned to a revision)."""
        return 0 if self.revision is not None else manifest_stamp(self.root)

    def _open(self) -> duckdb.DuckDBPyConnection:
        return connect(self.root, self.revision)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one request; it goes back to the pool afterwards (if still current)."""
        stamp = self._stamp()
        try:
            got_stamp, con = self._idle.get_nowait()
            if got_stamp != stamp:
                con.close()
                con = self._open()
        except queue.Empty:
            con = self._open()
        try:
            yield con
        finally:
            try:
                self._idle.put_nowait((stamp, con))
            except queue.Full:
                con.close()

    def close(self) -> None:
        while True:
            try:
                _, con = self._idle.get_nowait()
            except queue.Empty:
                return
            con.close()
