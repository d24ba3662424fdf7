"""`vidcot transcribe MEDIA`: speech of one video or audio file, with word timestamps."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transcribe",
        help="transcribe one video or audio file",
        description="Decode MEDIA's audio and transcribe it with faster-whisper (voice-activity filter on). "
        'With --json, print {"language": ..., "segments": [{"start", "end", "text", "words": [...]}]}.',
    )
    p.add_argument("media", type=Path, metavar="MEDIA")
    p.add_argument("--model", help='"embedded" (Whisper tiny.en, default) or a CTranslate2 model directory')
    p.add_argument("--compute-type", help="int8 (default), float16, ...")
    p.add_argument("--device", help="cpu (default), cuda or auto")
    p.add_argument("--beam-size", type=int, metavar="N")
    p.add_argument("--language", help="language code (default: detect)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads (default 2)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curation.asr import AsrConfig, AsrStage
    from curation.audio import AudioDecodeError
    from flows.errors import UserError

    if not args.media.is_file():
        raise UserError(f"{args.media}: no such file")
    options = {
        "model": args.model,
        "compute_type": args.compute_type,
        "device": args.device,
        "beam_size": args.beam_size,
        "language": args.language,
        "cpu_threads": args.threads,
    }
    stage = AsrStage(AsrConfig(**{k: v for k, v in options.items() if v is not None}))
    try:
        transcript = stage.transcribe(args.media)
    except AudioDecodeError as e:
        raise UserError(str(e)) from None
    if args.json:
        segments = [
            {
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text,
                "words": [
                    {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(w).items()} for w in s.words
                ],
            }
            for s in transcript.segments
        ]
        print(json.dumps({"language": transcript.language, "segments": segments}, ensure_ascii=False))
        return 0
    for s in transcript.segments:
        print(f"[{s.start:7.2f} → {s.end:7.2f}] {s.text}")
    if not transcript.segments:
        print(f"(no speech in {transcript.duration:.1f} s of audio)")
    return 0
