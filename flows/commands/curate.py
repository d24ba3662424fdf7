"""`vidcot curate INPUT... --out DATASET`: the main job."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from flows.lognoise import ThreadTimeoutNoise


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
    add_run_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--no-card",
        action="store_true",
        help="do not rebuild the dataset card (DATASET/README.md and plots) at the end; `vidcot card` does it later",
    )
    p.add_argument("--json", action="store_true", help="print the run summary as JSON on stdout")
    p.set_defaults(func=run)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options that shape a run — config file, overrides, workers, task runner, last stage — shared with
    `vidcot schedule`."""
    p.add_argument("--until", metavar="STAGE", help="last stage to run (a name in curation/registry.py; default: all)")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML or TOML config, one section per stage")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, e.g. asr.beam_size=5 (repeatable)",
    )
    p.add_argument(
        "--workers", type=int, help="videos, or LLM batches, processed at once (default: the cores, at most 4)"
    )
    p.add_argument(
        "--runner",
        choices=("threads", "dask"),
        help="runner of perception tasks and LLM batches: threads (default) or dask (a LocalCluster of --workers)",
    )
    p.add_argument("--dask-address", metavar="ADDR", help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")


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


class _PrefectNoise(ThreadTimeoutNoise):
    """Drops Prefect noise that is not about the user's run: the ephemeral API server's own shutdown races (event
    flushes cancelled at exit), tracebacks of errors the CLI reports in one line, and thread-timeout warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("prefect.server") and record.levelno < logging.CRITICAL:
            return False
        if record.name.startswith("prefect") and record.exc_info and _reported_by_cli(record.exc_info[1]):
            return False  # a locked dataset, a full disk: the CLI says it in one line; no flow traceback
        return super().filter(record)


def _reported_by_cli(exc: BaseException | None) -> bool:
    from flows.errors import UserError
    from schemas.store import StoreError

    return isinstance(exc, StoreError | UserError)


def run_overrides(args: argparse.Namespace) -> list[str]:
    """`--set` values plus the run flags (--workers, --runner, --dask-address) as config overrides."""
    overrides = list(args.set)
    if args.workers is not None:
        overrides.append(f"run.workers={args.workers}")
    if args.dask_address is not None:
        if args.runner == "threads":
            from flows.errors import UserError

            raise UserError("--dask-address runs on a Dask cluster; it cannot go with --runner threads")
        overrides += ["run.runner=dask", f"run.dask_address={args.dask_address}"]
    elif args.runner is not None:
        overrides.append(f"run.runner={args.runner}")
    return overrides


def run(args: argparse.Namespace) -> int:
    _quiet_prefect(args.verbose)
    from flows.config import load_config
    from flows.curate import run_curate
    from flows.errors import UserError
    from flows.inputs import expand_inputs
    from flows.summary import print_summary

    config = load_config(args.config, run_overrides(args))
    paths = expand_inputs(args.inputs, config.run.extensions)
    if not paths:
        raise UserError("no input videos found (folders are searched for " + " ".join(config.run.extensions) + ")")
    summary = run_curate(
        paths, args.out, config, until=args.until, show_progress=not args.no_progress, card=not args.no_card
    )
    print_summary(summary, str(args.out))
    if args.json:
        print(json.dumps(summary.to_json()))
    return 0
