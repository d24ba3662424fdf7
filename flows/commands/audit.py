"""`vidcot audit DATASET`: what blind rules score on the dataset's tasks and pools, beside chance."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="shortcut audit: what readers of the question alone score per pool and problem type, vs chance",
        description=(
            "Score blind rules — the best constant answer, the question template's majority answer (leave-one-out), "
            "absence → No, ordering → listed order, count → 1 — on the tasks table and the sft and rl pools, per "
            "problem type, beside a uniform guess on the same items; show the answer letters and the absence "
            "questions' Yes share. A rule more than 0.05 above chance on at least 20 items is flagged as a "
            "shortcut. Exit status 0 either way."
        ),
        epilog="example: vidcot audit out/demo   |   vidcot audit out/demo --json",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument("--revision", type=int, metavar="N", help="audit revision N (default: the latest)")
    p.add_argument("--json", action="store_true", help="print the audit as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from data_cards.audit import audit_dataset, audit_json, audit_section
    from schemas.store import load_manifest

    load_manifest(args.dataset)  # a clear "no dataset" error
    audits = audit_dataset(args.dataset, args.revision)
    print(json.dumps(audit_json(audits), indent=1) if args.json else audit_section(audits))
    return 0
