"""The `vidcot` command line: a thin dispatcher over one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from flows.errors import UserError

# Offline is the default: nothing at run time may fetch models or data from a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Model loading bars ("Loading weights") are noise beside vidcot's own per-stage progress bars.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# Prefect's ephemeral API server starts inside each run; on a loaded 2-core machine its default 20 s is too short.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

# Each module exposes register(subparsers); the order here is the order in `vidcot --help`.
COMMANDS = [
    "flows.commands.curate",
    "flows.commands.schedule",
    "flows.commands.samples",
    "flows.commands.query",
    "flows.commands.info",
    "flows.commands.export",
    "flows.commands.card",
    "flows.commands.browse",
    "flows.commands.shots",
    "flows.commands.transcribe",
    "flows.commands.train",
    "flows.commands.eval",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidcot",
        description=(
            "Turn raw videos into chain-of-thought post-training data for video language models "
            "(SFT, RL and preference pools as Parquet), query it with DuckDB, and train on it."
        ),
        epilog="Run `vidcot COMMAND --help` for the options of one command.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from schemas.store import StoreError

    try:
        return int(args.func(args) or 0)
    except (UserError, StoreError, ValueError, FileNotFoundError) as e:
        print(f"vidcot {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vidcot {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
