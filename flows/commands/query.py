"""`vidcot query DATASET [SQL]`: DuckDB over the dataset's tables."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from flows.errors import UserError

MAX_CELL = 60


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "query",
        help="run SQL (DuckDB) over a dataset's tables",
        description=(
            "Run SQL over DATASET with DuckDB. Every table (videos, shots, segments, words, frames, evidence, "
            "tasks, cot, sft, rl, pairs, negatives, rejects) is a view over exactly the shards the manifest "
            "lists. Without SQL, list the tables with their row counts and columns."
        ),
        epilog='example: vidcot query out/demo "SELECT reason, count(*) FROM rejects GROUP BY reason"',
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument("sql", nargs="?", metavar="SQL")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format (table)")
    p.add_argument("--output", type=Path, metavar="FILE.parquet", help="write the result to a Parquet file")
    p.add_argument("--revision", type=int, help="query an older revision of the dataset")
    p.add_argument("--limit", type=int, default=50, help="rows shown in table format (50; 0 = all)")
    p.set_defaults(func=run)


def _cell(v: Any) -> str:
    if isinstance(v, bytes | bytearray):
        return f"<{len(v)} bytes>"
    s = str(v) if v is not None else "∅"
    return s if len(s) <= MAX_CELL else s[: MAX_CELL - 1] + "…"


def run(args: argparse.Namespace) -> int:
    import duckdb

    from schemas.store.query import connect, describe

    if args.sql is None:
        t = Table(title=f"tables in {args.dataset}")
        for col in ("table", "rows", "columns"):
            t.add_column(col, overflow="fold")
        for name, count, cols in describe(args.dataset, args.revision):
            t.add_row(name, str(count), cols)
        Console().print(t)
        return 0
    con = connect(args.dataset, args.revision)
    try:
        if args.output is not None:
            out = str(args.output).replace("'", "''")
            con.execute(f"COPY ({args.sql}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
            written = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()
            print(f"wrote {written[0] if written else 0} rows to {args.output}", file=sys.stderr)
            return 0
        rel = con.execute(args.sql)
        names = [d[0] for d in rel.description] if rel.description else []
        rows = rel.fetchall()
    except duckdb.Error as e:
        raise UserError(str(e).strip().splitlines()[0]) from None
    if args.format == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(names)
        w.writerows([[f"<{len(v)} bytes>" if isinstance(v, bytes) else v for v in r] for r in rows])
    elif args.format == "json":
        for r in rows:
            print(json.dumps(dict(zip(names, r, strict=True)), default=_json_default))
    else:
        t = Table(show_lines=False)
        for col in names:
            t.add_column(col, overflow="fold")
        shown = rows if args.limit == 0 else rows[: args.limit]
        for r in shown:
            t.add_row(*[_cell(v) for v in r])
        con_out = Console()
        con_out.print(t)
        if len(shown) < len(rows):
            con_out.print(f"({len(rows)} rows, {len(shown)} shown; --limit 0 shows all)")
    return 0


def _json_default(v: Any) -> Any:
    if isinstance(v, bytes | bytearray):
        return f"<{len(v)} bytes>"
    return str(v)
