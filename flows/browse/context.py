"""What a page handler gets for one request, and the error it raises for a missing item."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


class NotFound(Exception):
    """No such video, sample, keyframe or file; the server answers 404 with this message."""


@dataclass
class Request:
    """One GET request: the borrowed DuckDB connection, the dataset, the path's argument and the query string."""

    con: duckdb.DuckDBPyConnection
    root: Path
    label: str  # how the dataset is named in the page header
    arg: str  # the path after the route's prefix (an id), '' for list pages
    query: dict[str, list[str]]
    revision: int | None = None

    def param(self, key: str) -> str:
        return (self.query.get(key) or [""])[0].strip()
