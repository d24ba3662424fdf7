"""`vidcot schedule INPUT_DIR --out DATASET (--cron EXPR | --interval SECONDS)`: curate new videos on a schedule."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from flows.commands.curate import add_run_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schedule",
        help="serve a Prefect deployment that curates new videos from a folder on a cron or interval schedule",
        description=(
            "Create a Prefect deployment (flow `vidcot-scheduled-curate`) with a cron or interval schedule and serve "
            "it until stopped (Ctrl-C pauses the schedule). Each scheduled run lists INPUT_DIR and curates only the "
            "files whose content hash is not in DATASET yet, as one new revision; a tick with nothing new logs "
            "'nothing new' and writes nothing. Needs a Prefect server: run `prefect server start` and set "
            "PREFECT_API_URL (runs, logs and the schedule show in its UI)."
        ),
        epilog=(
            "example: PREFECT_API_URL=http://127.0.0.1:4200/api vidcot schedule inbox/ --out out/ds "
            "--cron '*/15 * * * *' --config configs/demo.yaml"
        ),
    )
    p.add_argument("input_dir", type=Path, metavar="INPUT_DIR", help="folder watched for new videos (recursive)")
    p.add_argument("--out", required=True, type=Path, metavar="DATASET", help="dataset directory (created)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", help="cron schedule, e.g. '0 * * * *' (hourly)")
    when.add_argument("--interval", type=float, metavar="SECONDS", help="seconds between runs")
    p.add_argument("--name", default="inbox", help="deployment name (default: inbox)")
    add_run_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Scheduled runs report through Prefect's run logger: "nothing new", what was curated.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG" if args.verbose else "INFO")
    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API poll otherwise
    from flows.commands.curate import run_overrides
    from flows.schedule import build_deployment, serve_schedule

    deployment = build_deployment(
        args.name,
        args.input_dir,
        args.out,
        cron=args.cron,
        interval=args.interval,
        config_file=args.config,
        overrides=run_overrides(args),
        until=args.until,
    )
    serve_schedule(deployment)
    return 0
