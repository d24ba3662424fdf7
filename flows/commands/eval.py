"""`vidcot eval`: score a model on a dataset's held-out rl rows, with and without subtitles."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model on held-out rows: accuracy per problem type, format rate, temporal IoU",
        description="Generate answers for the rl pool's SPLIT rows (batched greedy decoding; --samples K adds "
        "self-consistency voting) and report accuracy per problem type, format rate, held-out reward, mean "
        "temporal IoU and R@1 at IoU 0.3/0.5/0.7, tokens and seconds per item — with and without subtitles.",
    )
    p.add_argument(
        "--model",
        metavar="RUN_OR_PATH",
        help="run directory, model directory or LoRA adapter (default: the embedded SmolLM2-135M)",
    )
    p.add_argument("--data", type=Path, required=True, metavar="DATASET")
    p.add_argument("--split", help="split(s) to score, comma-separated, e.g. val,test (default test)")
    p.add_argument("--limit", type=int, metavar="N", help="score only the first N rows")
    p.add_argument("--samples", type=int, metavar="K", help="sample K completions per item and vote (default 1)")
    p.add_argument("--batch-size", type=int, metavar="N")
    p.add_argument("--max-new-tokens", type=int, metavar="N")
    p.add_argument("--threads", type=int, metavar="N", help="torch threads (default: half the cores)")
    subs = p.add_mutually_exclusive_group()
    subs.add_argument(
        "--no-subtitles", dest="subtitles", action="store_const", const="without", help="only without the transcript"
    )
    subs.add_argument(
        "--subtitles", dest="subtitles", choices=("with", "without", "both"), help="conditions to run (default both)"
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML or YAML file with an [eval] section")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one [eval] setting, e.g. temperature=0.5 (repeatable; applied after the other options)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the JSON result to FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flows.errors import UserError
    from trainers.config import EvalSettings, load_settings

    settings = load_settings(
        EvalSettings,
        "eval",
        args.config,
        {
            "model": args.model,
            "split": args.split,
            "limit": args.limit,
            "samples": args.samples,
            "batch_size": args.batch_size,
            "max_new_tokens": args.max_new_tokens,
            "threads": args.threads,
            "subtitles": args.subtitles,
        },
        args.set,
    )
    if not args.data.is_dir():
        raise UserError(f"dataset {args.data} does not exist")
    if args.out:
        from flows.outputs import refuse_inside_dataset

        refuse_inside_dataset(args.out, "--out", args.data)
    from trainers.evaluate import evaluate, format_table

    result = evaluate(settings.model, args.data, settings)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1) if args.json else format_table(result))
    return 0
