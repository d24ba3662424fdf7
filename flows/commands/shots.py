"""`vidcot shots VIDEO`: shot boundaries of one file (for scripting and debugging the shots stage)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "shots",
        help="detect the shots of one video",
        description="Probe VIDEO and detect its shots (PySceneDetect on one reduced-resolution decode pass). "
        'With --json, print {"shots": [{"start": s, "end": s}, ...]} in seconds.',
    )
    p.add_argument("video", type=Path, metavar="VIDEO")
    p.add_argument(
        "--detector", choices=("adaptive", "content", "hash", "threshold", "transnetv2"), help="default adaptive"
    )
    p.add_argument("--threshold", type=float, help="the chosen detector's threshold")
    p.add_argument("--min-scene-len", type=float, metavar="SECONDS", help="default 0.6")
    p.add_argument("--no-fades", action="store_true", help="do not look for fades and cross-fades")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curation.probe import ProbeStage
    from curation.shots import ShotsConfig, ShotsStage
    from curation.stage import Rejected
    from flows.errors import UserError
    from schemas.settings import ConfigError, load

    if not args.video.is_file():
        raise UserError(f"{args.video}: no such file")
    values: dict = {}
    if args.detector:
        values["detector"] = args.detector
    if args.threshold is not None:
        key = {
            "adaptive": "adaptive_threshold",
            "content": "content_threshold",
            "hash": "hash_threshold",
            "threshold": "fade_threshold",
            "transnetv2": "transnet_threshold",
        }[args.detector or "adaptive"]
        values[key] = args.threshold
    if args.min_scene_len is not None:
        values["min_scene_len"] = args.min_scene_len
    if args.no_fades:
        values["fades"] = False
    video = ProbeStage().process(args.video)
    if isinstance(video, Rejected):
        raise UserError(f"{args.video}: {video.reason}: {video.detail}")
    try:
        stage = ShotsStage(load(ShotsConfig, options=values))
    except ConfigError as e:
        raise UserError(str(e)) from None
    result = stage.process(video)
    if isinstance(result, Rejected):
        raise UserError(f"{args.video}: {result.reason}: {result.detail}")
    shots, _frames = result
    if args.json:
        print(json.dumps({"shots": [{"start": round(s.start, 3), "end": round(s.end, 3)} for s in shots]}))
        return 0
    from rich.table import Table  # only for the table (rich's import is a tenth of this command's start-up)

    from flows.stdout import StdoutConsole

    table = Table(title=f"{len(shots)} shots in {args.video.name}")
    for col in ("#", "start", "end", "length", "transition in"):
        table.add_column(col, justify="right" if col != "transition in" else "left")
    for s in shots:
        table.add_row(str(s.index), f"{s.start:.3f}", f"{s.end:.3f}", f"{s.end - s.start:.3f}", s.transition_in)
    StdoutConsole().print(table)
    return 0
