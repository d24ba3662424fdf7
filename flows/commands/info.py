"""`vidcot info DATASET`: summarise a dataset's manifest — tables, rows, revisions."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="summarise a dataset: tables, row counts, revisions",
        description="Summarise DATASET's manifest: schema version, rows and shards per table, and every revision "
        "(when, by which command, what it added). --verify also checks every shard's sha256.",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument("--verify", action="store_true", help="check every shard against its manifest checksum")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from schemas import TABLES
    from schemas.store import Dataset

    ds = Dataset(args.dataset)
    m = ds.manifest
    checked = ds.verify() if args.verify else None
    if args.json:
        doc = {
            "dataset": str(args.dataset),
            "schema_version": m.schema_version,
            "revision": m.revision,
            "tables": {t: {"rows": ds.rows(t), "shards": len(ds.shards(t))} for t in TABLES},
            "revisions": [asdict(r) for r in m.revisions],
            "verified_shards": checked,
        }
        print(json.dumps(doc, indent=1))
        return 0
    con = Console()
    con.print(f"[bold]{args.dataset}[/bold]  schema v{m.schema_version}, revision {m.revision}")
    t = Table(title="tables")
    for col in ("table", "rows", "shards", "MiB"):
        t.add_column(col, justify="right" if col != "table" else "left")
    for name in TABLES:
        shards = ds.shards(name)
        t.add_row(name, str(ds.rows(name)), str(len(shards)), f"{sum(s.bytes for s in shards) / 2**20:.2f}")
    con.print(t)
    r = Table(title="revisions")
    for col in ("rev", "created", "added rows", "command"):
        r.add_column(col)
    for rev in m.revisions:
        added = sum(s.rows for s in m.shards if s.revision == rev.revision)
        r.add_row(str(rev.revision), rev.created, str(added), rev.command[:80])
    con.print(r)
    if checked is not None:
        con.print(f"verified {checked} shards: all checksums match")
    return 0
