"""Resolve a revision's staged rows of one table against the latest view, by key (schemas/keys.py).

DuckDB does the matching over the Parquet files themselves (staged shards and live shards), so no table is turned
into Python rows: it answers which staged rows are new or changed (to write), and which live rows leave the latest
view (superseded by a staged row with their key, or in scope for the revision — a video whose rows `replace` sets, or
with a parent row that left — and neither rewritten nor confirmed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from schemas import schema_for
from schemas.keys import key_of
from schemas.store.manifest import Shard


@dataclass
class TableChange:
    """What one revision did to one table."""

    written: int = 0  # new or changed rows
    removed: int = 0  # rows that left the latest view (superseded, no longer produced, or of a changed parent)
    videos_covered: int = 0  # videos whose rows this revision wrote, replaced or confirmed


@dataclass(frozen=True)
class Scope:
    """Rows of `videos` (and, with `where`, only those whose column holds one of the values) that a revision sets
    in full: those it does not stage leave the latest view."""

    videos: frozenset[str]
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class Plan:
    new_rows: dict[int, list[int]] = field(default_factory=dict)  # staged part -> positions of rows to write
    removed: dict[str, set[int]] = field(default_factory=dict)  # shard file -> row positions leaving the view
    # Videos with a row that left the view (superseded or no longer produced): rows derived from it are stale.
    # Rows under new keys alone stale nothing: every existing row still points at the row it was derived from.
    videos_changed: set[str] = field(default_factory=set)
    videos_written: set[str] = field(default_factory=set)  # videos with rows written or confirmed


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()}


def resolve(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    table: str,
    staged: list[Path],
    live: list[Shard],
    scopes: list[Scope],
) -> Plan:
    """Match `staged` shard files of `table` against its `live` shards; live rows within `scopes` leave unless a
    staged row has their key. `con` is a scratch connection (its temporary objects are replaced)."""
    schema = schema_for(table)
    key = key_of(table)
    cols = schema.names
    if staged:
        parts = " UNION ALL ".join(
            f"SELECT {i} AS _part, file_row_number AS _row, * EXCLUDE (file_row_number) "
            f"FROM read_parquet({_s(str(p))}, file_row_number=true)"
            for i, p in enumerate(staged)
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW inc AS {parts}")
    else:
        empty = schema.empty_table()
        empty = empty.append_column("_part", pa.array([], pa.int64())).append_column("_row", pa.array([], pa.int64()))
        con.register("_inc_empty", empty)
        con.execute("CREATE OR REPLACE TEMP VIEW inc AS SELECT * FROM _inc_empty")
    keys = ", ".join(_q(k) for k in key)
    # Of rows staged twice under one key, the last staged wins.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE inc_pos AS SELECT _part, _row, {keys}, video_id FROM inc "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _part DESC, _row DESC) = 1"
    )
    in_scope = []
    for i, scope in enumerate(scopes):
        con.register(f"_scope{i}", pa.table({"video_id": pa.array(sorted(scope.videos), pa.string())}))
        terms = [f"c.video_id IN (SELECT video_id FROM _scope{i})"]
        terms += [f"c.{_q(col)} IN ({', '.join(_s(v) for v in values)})" for col, values in scope.where if values]
        in_scope.append("(" + " AND ".join(terms) + ")")
    scope_sql = " OR ".join(in_scope) or "false"
    plan = Plan()
    plan.videos_written = {r[0] for r in con.execute("SELECT DISTINCT video_id FROM inc_pos").fetchall() if r[0]}
    by_path = {str(root / s.file): s.file for s in live}
    key_eq = " AND ".join(f"c.{_q(k)} IS NOT DISTINCT FROM i.{_q(k)}" for k in key)
    if live:
        files = ", ".join(_s(p) for p in by_path)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW cur AS SELECT * FROM "
            f"read_parquet([{files}], filename=true, file_row_number=true, union_by_name=true)"
        )
        have = _columns(con, "cur")
        same = " AND ".join(
            f"c.{_q(c)} IS NOT DISTINCT FROM i.{_q(c)}" if c in have else f"i.{_q(c)} IS NULL" for c in cols
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE matched AS "
            f"SELECT c.filename AS f, c.file_row_number AS r, c.video_id AS v, i._part AS p, i._row AS ir, "
            f"({same}) AS same "
            f"FROM cur c JOIN (SELECT inc.* FROM inc SEMI JOIN inc_pos USING (_part, _row)) i ON {key_eq}"
        )
        # Per staged row: keep the first identical live row (so the row need not be written); every other live
        # row with its key is superseded.
        superseded = (
            "SELECT f, r, v FROM (SELECT *, row_number() OVER (PARTITION BY p, ir ORDER BY same DESC, f, r) AS rk "
            "FROM matched) WHERE NOT (same AND rk = 1)"
        )
        # Live rows of videos in scope that no staged row has the key of: no longer produced, or of a stale parent.
        dropped = (
            f"SELECT c.filename AS f, c.file_row_number AS r, c.video_id AS v FROM cur c "
            f"ANTI JOIN inc_pos i ON {key_eq} WHERE {scope_sql}"
        )
        for f, r, v in con.execute(f"{superseded} UNION ALL {dropped}").fetchall():
            plan.removed.setdefault(by_path[f], set()).add(int(r))
            if v is not None:
                plan.videos_changed.add(v)
        confirmed = "SELECT DISTINCT p AS _part, ir AS _row FROM matched WHERE same"
    else:
        confirmed = "SELECT _part, _row FROM inc_pos WHERE false"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE new_pos AS SELECT _part, _row, video_id FROM inc_pos "
        f"ANTI JOIN ({confirmed}) k USING (_part, _row)"
    )
    # Positions only: the rows themselves are taken from the staged shards with Arrow, types exactly as staged.
    for part, row in con.execute("SELECT _part, _row FROM new_pos ORDER BY _part, _row").fetchall():
        plan.new_rows.setdefault(int(part), []).append(int(row))
    return plan


def staged_rows(staged: list[Path], positions: dict[int, list[int]]) -> Iterator[pa.Table]:
    """The rows at `positions` of the staged shards, part by part, in staging order."""
    for part in sorted(positions):
        yield pq.read_table(staged[part]).take(pa.array(positions[part], pa.int64()))
