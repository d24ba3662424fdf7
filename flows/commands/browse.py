"""`vidcot browse DATASET [--port N]`: a read-only web page over a dataset on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("vidcot.browse")
DEFAULT_PORT = 8765


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "browse",
        help="look at a dataset in a web browser (read-only, 127.0.0.1)",
        description=(
            "Serve a read-only page over DATASET on http://127.0.0.1:PORT/ — an overview (statistics, plots, "
            "pools, reject reasons with examples), each video (keyframes on a timeline of shots, transcript, "
            "evidence per keyframe) and each sample (task, draft and refined chains with the changes marked, "
            "verifier scores and verdict, hard negatives, split, difficulty). The sample list filters by pool, "
            "split, problem type, verdict and reject reason; every view is a URL you can share. Only this machine "
            "can connect; nothing in the dataset is written. Stop with Ctrl-C."
        ),
        epilog="example: vidcot browse out/demo --port 8765, then open http://127.0.0.1:8765/",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 ({DEFAULT_PORT}; 0 picks a free one)"
    )
    p.add_argument("--revision", type=int, help="browse an older revision of the dataset")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flows.browse import BrowseServer
    from flows.errors import UserError

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, not {args.port}")
    server = BrowseServer(args.dataset, args.port, args.revision)
    log.info("browsing %s at %s (Ctrl-C stops)", args.dataset, server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        server.server_close()
    return 0
