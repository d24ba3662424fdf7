"""`vidcot transcribe MEDIA`: speech of one video or audio file, with word timestamps."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curation.asr import Segment


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transcribe",
        help="transcribe one video or audio file",
        description="Decode MEDIA's audio and transcribe it with faster-whisper (voice-activity filter on, the "
        "language detected per speech window, Whisper's hallucination guards applied), and read its embedded text "
        'subtitle tracks. With --json, print {"language", "dropped": {reason: n}, "segments": [{"start", "end", '
        '"text", "language", "language_probability", "source", "words": [...]}], "subtitles": [...]}.',
    )
    p.add_argument("media", type=Path, metavar="MEDIA")
    p.add_argument(
        "--model", help='"base" (bundled multilingual Whisper, default), "tiny.en", or a CTranslate2 model directory'
    )
    p.add_argument("--compute-type", help="int8 (default), float16, ...")
    p.add_argument("--device", help="cpu (default), cuda or auto")
    p.add_argument("--beam-size", type=int, metavar="N")
    p.add_argument("--language", help="force one language code (default: detect per speech window)")
    p.add_argument("--no-subtitles", action="store_true", help="do not read embedded subtitle tracks")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads (default 2)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curation.asr import AsrConfig, AsrStage, Transcript
    from curation.audio import AudioDecodeError
    from flows.errors import UserError
    from schemas.settings import ConfigError, load

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
    try:
        stage = AsrStage(load(AsrConfig, options=options))
    except ConfigError as e:
        raise UserError(str(e)) from None
    subtitles = [] if args.no_subtitles else stage.subtitles(args.media)
    try:
        transcript = stage.transcribe(args.media)
    except AudioDecodeError as e:
        if not subtitles:
            raise UserError(str(e)) from None
        transcript = Transcript("", 0.0, 0.0)  # subtitles without (decodable) audio are still worth printing
    if args.json:
        print(
            json.dumps(
                {
                    "language": transcript.language,
                    "dropped": transcript.dropped,
                    "segments": [_json(s) for s in transcript.segments],
                    "subtitles": [_json(s) for s in subtitles],
                },
                ensure_ascii=False,
            )
        )
        return 0
    for s in transcript.segments:
        print(f"[{s.start:7.2f} → {s.end:7.2f}] ({s.language or '?'} {s.language_probability:.2f}) {s.text}")
    if not transcript.segments:
        print(f"(no speech in {transcript.duration:.1f} s of audio)")
    if transcript.dropped:
        print("(dropped by hallucination guards: " + ", ".join(f"{k} {v}" for k, v in transcript.dropped.items()) + ")")
    for s in subtitles:
        print(f"[{s.start:7.2f} → {s.end:7.2f}] (subtitle {s.language or '?'}) {s.text}")
    return 0


def _json(s: Segment) -> dict[str, Any]:
    return {
        "start": round(s.start, 3),
        "end": round(s.end, 3),
        "text": s.text,
        "language": s.language,
        "language_probability": round(s.language_probability, 4),
        "source": s.source,
        "words": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(w).items()} for w in s.words],
    }
