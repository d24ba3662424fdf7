"""`vidcot curate INPUT... --out DATASET`: the main job."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

STAGE_NAMES = ("probe", "shots", "asr", "evidence", "tasks", "draft", "refine", "verify", "negatives", "difficulty",
               "pools")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curate",
        help="curate videos into a dataset (shots, ASR, keyframes, visual evidence, …)",
        description=(
            "Run the curation pipeline as a Prefect flow over INPUT files, folders (searched recursively by "
            "extension) or text files listing paths. Results are cached per video by content hash and stage config "
            "hash, so re-running does no stage work and a killed run resumes; bad videos become `rejects` rows "
            "with a reason and never fail the run. Works in Prefect's ephemeral mode, or against a server when "
            "PREFECT_API_URL is set."
        ),
        epilog="example: vidcot curate videos/ --out out/ds --workers 2 --set shots.detector=content",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    p.add_argument("--out", required=True, type=Path, metavar="DATASET", help="dataset directory (created)")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML or TOML config, one section per stage")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, e.g. asr.beam_size=5 (repeatable)",
    )
    p.add_argument("--workers", type=int, help="videos processed at once (default from config: 1)")
    p.add_argument("--until", choices=STAGE_NAMES, default=STAGE_NAMES[-1], help="last stage to run")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON on stdout")
    p.set_defaults(func=run)


def _quiet_prefect(verbose: bool) -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    if verbose:
        return
    for name in ("httpx", "faster_whisper"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import prefect  # noqa: F401  (configures Prefect's handlers, which the filter is attached to)

    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            handler.addFilter(_PrefectNoise())


class _PrefectNoise(logging.Filter):
    """Drops two kinds of Prefect noise that are not about the user's run.

    The ephemeral API server logs its own shutdown races (event flushes cancelled at exit), and Prefect warns on
    every threaded task that has a timeout; the run summary reports real timeouts.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("prefect.server") and record.levelno < logging.CRITICAL:
            return False
        return "running in a worker thread" not in record.getMessage()


def run(args: argparse.Namespace) -> int:
    _quiet_prefect(args.verbose)
    from flows.config import load_config
    from flows.curate import run_curate
    from flows.errors import UserError
    from flows.inputs import expand_inputs
    from flows.summary import print_summary

    overrides = list(args.set)
    if args.workers is not None:
        overrides.append(f"run.workers={args.workers}")
    config = load_config(args.config, overrides)
    paths = expand_inputs(args.inputs, config.run.extensions)
    if not paths:
        raise UserError("no input videos found (folders are searched for " + " ".join(config.run.extensions) + ")")
    summary = run_curate(paths, args.out, config, until=args.until, show_progress=not args.no_progress)
    print_summary(summary, str(args.out))
    if args.json:
        print(json.dumps(summary.to_json()))
    return 0
