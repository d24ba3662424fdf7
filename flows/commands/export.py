"""`vidcot export DATASET --format FORMAT --out DIR`: the sft/rl/pairs pools in the formats trainers read.

Formats (one module each in flows/exports/):
{formats}

Clip paths (llamafactory, swift, verl, webdataset): absolute by default; relative to --media-root R with it (every
clip must lie under R); with --copy-media the clips are copied (hard-linked where possible) into DIR/media/ and the
paths are relative to DIR. A clip that is no longer where curation found it is an error naming it.

The files are written into a fresh temporary folder beside DIR, which is renamed into place when every file is
written: a failed export leaves nothing behind, and DIR holds exactly one export's files. An existing non-empty DIR
is refused unless --overwrite is given; then it is replaced whole. DIR may not lie inside DATASET.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.errors import UserError
from flows.exports import FORMATS, help_text

DOC = __doc__.replace("{formats}", help_text()) if __doc__ else ""
EXAMPLES = """examples:
  vidcot export out/demo --format video-r1 --out out/video-r1
  vidcot export out/demo --format llamafactory --out out/lf --copy-media
  vidcot export out/demo --format verl --out out/verl --media-root out/samples
  vidcot export out/demo --format webdataset --out out/wds --with-video --shard-mb 256"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export the sft/rl/pairs pools for Hugging Face, Video-R1, TRL, LLaMA-Factory, ms-swift, verl or "
        "WebDataset",
        description=DOC.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument("--format", choices=list(FORMATS), required=True, help="output format (see above)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created; outside DATASET)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR whole if it exists and is not empty")
    p.add_argument("--revision", type=int, help="export an older revision of the dataset")
    media = p.add_mutually_exclusive_group()
    media.add_argument("--media-root", type=Path, metavar="R", help="write clip paths relative to R")
    media.add_argument("--copy-media", action="store_true", help="copy the clips into DIR/media/")
    p.add_argument("--with-video", action="store_true", help="webdataset: put each sample's clip in its shard")
    p.add_argument("--shard-mb", type=int, default=1024, metavar="MB", help="webdataset: shard size cap (1024)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flows.exports.common import Media, Options
    from flows.exports.target import check_target, staging
    from schemas.store.query import connect

    if args.shard_mb < 1:
        raise UserError(f"--shard-mb must be at least 1, not {args.shard_mb}")
    if args.media_root is not None and not args.media_root.is_dir():
        raise UserError(f"--media-root {args.media_root} is not a folder")
    target = check_target(args.out, args.dataset, args.overwrite)
    con = connect(args.dataset, args.revision)
    pools = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("sft", "rl", "pairs")}
    if not any(pools.values()):
        raise UserError(f"nothing to export: {args.dataset} has empty sft, rl and pairs tables (run `vidcot curate`)")
    with staging(target, args.out) as tmp:
        media = Media(tmp, args.media_root, args.copy_media)
        counts = FORMATS[args.format].write(con, tmp, Options(media, args.with_video, args.shard_mb << 20))
    for name, n in counts.items():
        print(f"{args.out / name}: {n} rows")
    return 0
