"""ASR quality side by side in one run: vidcot's transcription (per-window language, guards) with Whisper base and
tiny.en, against bare faster-whisper (`WhisperModel.transcribe(path, vad_filter=True)`, language detected once)
with the same model files, on real LibriVox read speech and on generated speech switching English → German.

    .venv/bin/python benchmarks/asr_models.py [--threads 1] [--out benchmarks/results/asr_models.json]

WER is over the whole reference (lower-cased, punctuation removed, trainers.wer); seconds are wall time of one
transcription (model loaded before timing). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from curation.asr import AsrConfig, AsrStage, bundled_model_dir
from curation.samples import ENGLISH, GERMAN, build_samples, load_sidecar, switching_speech
from trainers.embedded import cache_root
from trainers.wer import wer


def clips(tmp: Path) -> dict[str, tuple[Path, str]]:
    samples = cache_root() / "samples"
    build_samples(samples)
    libri = samples / "librivox_reading.mp4"
    switch, _ = switching_speech(tmp / "switch.mp4")
    return {
        "librivox": (libri, " ".join(s.text for s in load_sidecar(libri).speech)),
        "switch_en_de": (switch, f"{ENGLISH} {GERMAN}"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from faster_whisper import WhisperModel

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = clips(Path(tmp))
        for model in ("base", "tiny.en"):
            stage = AsrStage(AsrConfig(model=model, cpu_threads=args.threads))
            stage.ensure_setup()
            bare = WhisperModel(str(bundled_model_dir(model)), device="cpu", compute_type="int8",
                                cpu_threads=args.threads)  # fmt: skip
            for name, (path, ref) in files.items():
                t0 = time.perf_counter()
                tr = stage.transcribe(path)
                t1 = time.perf_counter()
                segs, info = bare.transcribe(str(path), beam_size=1, vad_filter=True, word_timestamps=True,
                                             condition_on_previous_text=False)  # fmt: skip
                bare_text = " ".join(s.text for s in segs)
                t2 = time.perf_counter()
                rows.append({
                    "clip": name, "model": model,
                    "vidcot_wer": round(wer(ref, " ".join(s.text for s in tr.segments)), 3),
                    "bare_wer": round(wer(ref, bare_text), 3),
                    "vidcot_languages": [s.language for s in tr.segments], "bare_language": info.language,
                    "vidcot_dropped": tr.dropped,
                    "vidcot_s": round(t1 - t0, 2), "bare_s": round(t2 - t1, 2), "audio_s": round(tr.duration, 2),
                })  # fmt: skip
    out = {"threads": args.threads, "rows": rows}
    text = json.dumps(out, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
