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
        "(when, by which command, what it added). --verify also checks every shard's sha256 (of every revision), "
        "that every key is unique in each revision, and that no row of the latest revision points at a missing "
        "parent row.",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check every shard against its manifest checksum, key uniqueness per revision and parent rows",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from schemas import TABLES
    from schemas.store import Dataset, StoreError
    from schemas.store.integrity import verify_dataset

    ds = Dataset(args.dataset)
    m = ds.manifest
    verdict = verify_dataset(args.dataset) if args.verify else None
    if verdict is not None and not verdict.ok:
        more = f" (and {len(verdict.problems) - 1} more)" if len(verdict.problems) > 1 else ""
        raise StoreError(f"{args.dataset} failed verification: {verdict.problems[0]}{more}")
    checked = verdict.shards if verdict is not None else None
    if args.json:
        doc = {
            "dataset": str(args.dataset),
            "schema_version": m.schema_version,
            "revision": m.revision,
            "tables": {t: {"rows": ds.rows(t), "shards": len(ds.shards(t))} for t in TABLES},
            "revisions": [asdict(r) for r in m.revisions],
            "verified_shards": checked,
            "verify_notes": verdict.notes if verdict is not None else None,
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
    for col in ("rev", "created", "rows written", "rows removed", "command"):
        r.add_column(col)
    for rev in m.revisions:
        if rev.unique_keys:
            written = sum(c.get("written", 0) for c in rev.changes.values())
            removed = str(sum(c.get("removed", 0) for c in rev.changes.values()))
        else:  # written before supersession was recorded: every row it added was new
            written, removed = sum(s.rows for s in m.shards if s.revision == rev.revision), "-"
        r.add_row(str(rev.revision), rev.created, str(written), removed, rev.command[:80])
    con.print(r)
    if verdict is not None:
        con.print(
            f"verified {verdict.shards} shards: all checksums match; every key is unique in each of "
            f"{verdict.revisions} revisions; no row of the latest points at a missing parent"
        )
        for note in verdict.notes:
            con.print(f"note: {note} (written before rows were superseded by key)")
    return 0
