"""The `vidcot` command line: a thin dispatcher over one module per subcommand."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from flows.commands import (
    audit,
    browse,
    card,
    curate,
    eval,
    export,
    info,
    query,
    samples,
    schedule,
    shots,
    train,
    transcribe,
)
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
COMMANDS = (curate, schedule, samples, query, info, export, card, audit, browse, shots, transcribe, train, eval)


# How a process killed by SIGPIPE exits (128 + 13), as `yes | head -1` does: the pipeline sees the usual status.
EXIT_PIPE_CLOSED = 141


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: options may come before, between or after its positional arguments
    (`vidcot query DS --format json "SELECT 1"`), which plain `parse_args` refuses once a positional is optional."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # parse_known_intermixed_args calls parse_known_args itself (twice); only the outer call intermixes. A
        # command with subcommands of its own (`vidcot train sft`) leaves the intermixing to them.
        if self._intermixing or any(isinstance(a, argparse._SubParsersAction) for a in self._actions):
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for module in COMMANDS:
        module.register(sub)
    for command in sub.choices.values():
        _add_verbose(command)
    return parser


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """`-v` after the command too (`vidcot query DS "SQL" -v`, `vidcot train sft … -v`); SUPPRESS keeps the value
    given before the command when it is not repeated after it."""
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debug messages")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                _add_verbose(nested)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (2 for bad input, with one line on stderr)."""
    try:
        try:
            return _dispatch(argv)
        finally:
            sys.stdout.flush()  # here, not at interpreter exit, so a reader that went away is seen below
    except BrokenPipeError:
        return _stdout_closed()


def _dispatch(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except _user_errors() as e:
        print(f"vidcot {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vidcot {args.command}: interrupted", file=sys.stderr)
        return 130


def _user_errors() -> tuple[type[Exception], ...]:
    """The errors that are the user's to fix (one line, exit 2), the store's among them if the command loaded the
    store: importing it only to name its error class cost every command DuckDB's start-up (~0.1 s of CPU)."""
    store = sys.modules.get("schemas.store.errors")
    return (UserError, ValueError, FileNotFoundError, *((store.StoreError,) if store is not None else ()))


def _stdout_closed() -> int:
    """The reader of stdout went away (`vidcot query DS "SQL" | head -1`): stop quietly, as `cat` would.

    Python flushes stdout once more at exit and would print a second BrokenPipeError there; pointing stdout at
    /dev/null first makes that flush a no-op."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
