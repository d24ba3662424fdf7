"""`vidcot query DATASET [SQL]`: DuckDB over the dataset's tables, printed as a table, CSV, a JSON array or JSON
Lines, or written to a Parquet file outside the dataset."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from flows.errors import UserError
from flows.stdout import StdoutConsole

if TYPE_CHECKING:
    import pyarrow as pa

MAX_CELL = 60
FORMATS = ("table", "csv", "json", "jsonl")


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
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="output format: table (default), csv, json (one array of objects) or jsonl (one object a line)",
    )
    p.add_argument(
        "--output", type=Path, metavar="FILE.parquet", help="write the result to a Parquet file (outside DATASET)"
    )
    p.add_argument("--revision", type=_at_least(1), help="query an older revision of the dataset (1, 2, …)")
    p.add_argument("--limit", type=_at_least(0), default=50, help="rows shown in table format (50; 0 = all)")
    p.set_defaults(func=run)


def _at_least(low: int) -> Any:
    """An argparse type: an integer no smaller than `low` (argparse turns the ValueError into a usage error)."""

    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise ValueError(f"{value} < {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


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
        StdoutConsole().print(t)
        return 0
    if args.output is not None:
        check_output(args.output, args.dataset)
    con = connect(args.dataset, args.revision)
    try:
        if args.output is not None:
            result = con.sql(args.sql).to_arrow_table()
            write_parquet(result, args.output)
            print(f"wrote {result.num_rows} rows to {args.output}", file=sys.stderr)
            return 0
        rel = con.execute(args.sql)
        names = [d[0] for d in rel.description] if rel.description else []
        rows = rel.fetchall()
    except duckdb.Error as e:
        raise UserError(str(e).strip().splitlines()[0]) from None
    if args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(names)
        w.writerows([[f"<{len(v)} bytes>" if isinstance(v, bytes) else v for v in r] for r in rows])
    elif args.format == "json":
        # One JSON document: an array with one object per row, one row a line so it still reads well.
        items = [_json_row(names, r) for r in rows]
        sys.stdout.write("[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n")
    elif args.format == "jsonl":
        for r in rows:
            sys.stdout.write(_json_row(names, r) + "\n")
    else:
        t = Table(show_lines=False)
        for col in names:
            t.add_column(col, overflow="fold")
        shown = rows if args.limit == 0 else rows[: args.limit]
        for r in shown:
            t.add_row(*[_cell(v) for v in r])
        con_out = StdoutConsole()
        con_out.print(t)
        if len(shown) < len(rows):
            con_out.print(f"({len(rows)} rows, {len(shown)} shown; --limit 0 shows all)")
    return 0


def _json_row(names: list[str], row: tuple[Any, ...]) -> str:
    """One row as a JSON object; NaN and infinities (which JSON cannot hold) become null."""
    return json.dumps(_finite(dict(zip(names, row, strict=True))), default=_json_default, allow_nan=False)


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


def _json_default(v: Any) -> Any:
    if isinstance(v, bytes | bytearray):
        return f"<{len(v)} bytes>"
    return str(v)


def check_output(output: Path, dataset: Path) -> None:
    """Refuse an --output that would land inside the dataset (a manifest, a shard, a stray file among the shards);
    symbolic links are followed, so a link into the dataset is refused too."""
    target = output.resolve()
    root = dataset.resolve()
    if target == root or target.is_relative_to(root):
        raise UserError(f"--output {output} is inside the dataset {dataset}; write the result somewhere else")
    if target.is_dir():
        raise UserError(f"--output {output} is a folder; name a file, e.g. {output / 'result.parquet'}")


def write_parquet(table: pa.Table, output: Path) -> None:
    """Write `table` to `output` atomically: a temporary file beside it, then a rename, so a failed write leaves
    no half file and an existing file is replaced whole."""
    import pyarrow.parquet as pq

    tmp = output.with_name(f".{output.name}.{secrets.token_hex(4)}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, output)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            reason = os.strerror(e.errno) if e.errno else str(e)
            raise UserError(f"cannot write {output}: {reason}") from None
        raise
