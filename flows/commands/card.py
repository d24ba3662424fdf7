"""`vidcot card DATASET`: write the dataset card (README.md with a Hugging Face YAML header, and plots)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flows.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "card",
        help="write the dataset card: README.md (Hugging Face format) with statistics and plots",
        description=(
            "Write DATASET/README.md, a Hugging Face dataset card for the latest revision: a YAML header with one "
            "config per table (sft, rl, pairs, tasks, cot, negatives) listing exactly its Parquet shards, license, "
            "task categories and size category; then statistics (videos, hours, shots, speech minutes, rows per "
            "pool and split, reject reasons, problem types, difficulty and chain length histograms, subtitle "
            "leakage, acceptance per drafting model), PNG plots in DATASET/card/, revisions and provenance "
            "(models, prompt hashes, config, package versions). `vidcot curate` rebuilds it after every run. "
            "Files are replaced atomically; the dataset's writer lock is taken so a running curate is not raced."
        ),
        epilog="example: vidcot card out/demo --license cc-by-4.0   |   vidcot card out/demo --json --revision 1",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument(
        "--license", metavar="ID", help="license id for the header (default: kept from the card, or unknown)"
    )
    p.add_argument("--name", metavar="TEXT", help="pretty_name for the header (default: kept, or the folder name)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the statistics as JSON on stdout instead of writing the card (combine with --revision)",
    )
    p.add_argument("--revision", type=int, metavar="N", help="with --json: statistics of revision N")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for a running writer (0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from schemas.store import DatasetLock, load_manifest

    if args.json:
        from data_cards.stats import collect_stats

        print(json.dumps(collect_stats(args.dataset, args.revision).to_json(), indent=1))
        return 0
    if args.revision is not None:
        raise UserError(
            "the card in a dataset always describes its latest revision; use --json --revision N for the "
            "statistics of an older one"
        )
    load_manifest(args.dataset)  # a clear "no dataset" error before a lock file is created anywhere
    from data_cards.card import build_card

    try:
        with DatasetLock(args.dataset, wait=args.wait):
            card = build_card(args.dataset, license=args.license, pretty_name=args.name)
    except OSError as e:  # a full disk or a read-only dataset: the old card, if any, is untouched
        raise UserError(f"cannot write the card into {args.dataset}: {e.strerror or e}") from None
    print(f"{card.path} (revision {card.stats.revision}); plots in {card.path.parent / 'card'}")
    return 0
