"""Builds the labelled OCR frame set in tests/data/ocr/: small keyframe-sized JPEGs and `labels.json` with the text
each one shows.

    .venv/bin/python benchmarks/ocr_set.py

Kinds: `counter` (a generated 1080p clip printing "Frame = N / PTS = t.tts" in large white type, as encoders and
players stamp it), `overlay` (a real clip upscaled to 1080p with outlined "Frame = N" / "PTS = X.Ys" lines),
`sign` (plain signs drawn onto real frames), `ui` (interface text: a menu bar, buttons, a status line), `onscreen`
(the title cards of the sample clips) and `real` (real footage with no text: anything read there is wrong). Text is
known exactly because it was drawn; frames are at most 640 px wide, like the shots stage's keyframes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from curation.samples import opencv_examples  # noqa: E402
from trainers.embedded import cache_root  # noqa: E402

OUT = ROOT / "tests" / "data" / "ocr"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
OPENCV = opencv_examples()
FPS = 25
COUNTER_FRAMES = (0, 12, 23, 57, 100, 149, 175, 188)


def counter_text(n: int) -> str:
    """What the counter clip prints on frame `n` (25 fps: PTS in hundredths is 4 n)."""
    return f"Frame = {n} / PTS = {n // FPS}.{(n * 4) % 100:02d}s"


def counter_clip(out: Path) -> Path:
    """8 s of 1080p, a slow dark gradient with one line of large white type: "Frame = N / PTS = t.tts"."""
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "Frame = %{eif\\:n\\:d} / PTS = %{eif\\:trunc(n/25)\\:d}.%{eif\\:mod(n*4\\,100)\\:d\\:2}s"
    vf = f"drawtext=fontfile={FONT}:x=120:y=480:fontsize=80:fontcolor=white:text='{text}'"
    src = f"gradients=s=1920x1080:r={FPS}:c0=0x10243a:c1=0x3a1a2a:speed=0.02,format=yuv420p"
    tmp = out.with_suffix(".part.mp4")
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", src, "-t", "8", "-vf", vf]
    subprocess.run([*cmd, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(tmp)], check=True)
    tmp.rename(out)
    return out


def frames(path: Path, indices: list[int] | None = None, times: list[float] | None = None) -> list[np.ndarray]:
    """Frames by index or nearest presentation time, at most 640 px wide (keyframe size)."""
    got: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for k, frame in enumerate(container.decode(stream)):
            t = float(frame.pts * stream.time_base) if frame.pts is not None and stream.time_base else k / FPS
            for i, want in enumerate(times or []):
                if i not in got and t >= want - 0.02:
                    got[i] = frame.to_ndarray(format="bgr24")
            if indices and k in indices:
                got[indices.index(k)] = frame.to_ndarray(format="bgr24")
            if len(got) == len(indices or times or []):
                break
    out = []
    for i in range(len(got)):
        img = got[i]
        if img.shape[1] > 640:
            img = cv2.resize(img, (640, round(img.shape[0] * 640 / img.shape[1] / 2) * 2), interpolation=cv2.INTER_AREA)
        out.append(img)
    return out


def draw(img: np.ndarray, items: list[tuple[tuple[int, int], str, int, str, str | None]]) -> np.ndarray:
    """Text drawn onto a BGR image: ((x, y), text, size, colour, box colour or None)."""
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    d = ImageDraw.Draw(pil)
    for (x, y), text, size, colour, box in items:
        font = ImageFont.truetype(BOLD if size >= 20 else FONT, size)
        if box is not None:
            left, top, right, bottom = d.textbbox((x, y), text, font=font)
            d.rectangle((left - 10, top - 8, right + 10, bottom + 8), fill=box)
        d.text((x, y), text, font=font, fill=colour)
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def ui_screen(title: str, menu: list[str], buttons: list[str], status: str) -> np.ndarray:
    """A plain application window at 640x360: title bar, menu bar, a panel, two buttons, a status line."""
    img = Image.new("RGB", (640, 360), (236, 236, 236))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 640, 30), fill=(52, 58, 70))
    d.text((12, 6), title, font=ImageFont.truetype(BOLD, 16), fill=(255, 255, 255))
    x = 12
    f = ImageFont.truetype(FONT, 16)
    for m in menu:
        d.text((x, 40), m, font=f, fill=(20, 20, 20))
        x += int(d.textlength(m, font=f)) + 22
    d.rectangle((20, 80, 620, 280), fill=(255, 255, 255), outline=(180, 180, 180))
    x = 360
    for b in buttons:
        w = int(d.textlength(b, font=f)) + 36
        d.rectangle((x, 296, x + w, 326), fill=(40, 110, 200))
        d.text((x + 18, 301), b, font=f, fill=(255, 255, 255))
        x += w + 16
    d.text((12, 336), status, font=ImageFont.truetype(FONT, 14), fill=(60, 60, 60))
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def build() -> list[dict[str, Any]]:
    """Write every frame of the set and return its labels."""
    from curation.evidence.scoring import OVERLAY_TIMES, overlay_clip, overlay_labels
    from curation.samples import build_samples

    samples = cache_root() / "samples"
    build_samples(samples)
    rows: list[dict[str, Any]] = []

    def add(name: str, kind: str, img: np.ndarray, text: str, maybe: list[str] | None = None) -> None:
        cv2.imwrite(str(OUT / name), img, [cv2.IMWRITE_JPEG_QUALITY, 80])
        rows.append({"file": name, "kind": kind, "text": text, "maybe_text": maybe or []})

    with tempfile.TemporaryDirectory() as tmp:
        clip = counter_clip(Path(tmp) / "counter.mp4")
        for n, img in zip(COUNTER_FRAMES, frames(clip, indices=list(COUNTER_FRAMES)), strict=True):
            add(f"counter_{n:03d}.jpg", "counter", img, counter_text(n))
    picks = (0, 3, 5)
    imgs = frames(overlay_clip(), times=[OVERLAY_TIMES[i] for i in picks])
    for i, img in zip(picks, imgs, strict=True):
        add(f"overlay_{i}.jpg", "overlay", img, overlay_labels()[i]["text"])
    street = frames(OPENCV / "vtest.avi", times=[5.0, 30.0, 55.0])
    bikes = frames(samples / "bikes.mp4", times=[2.0, 6.4, 9.9])
    signs = [
        (street[0], [((60, 60), "EXIT 12", 34, "white", "#1b6e3a")], "EXIT 12"),
        (street[1], [((380, 150), "NO PARKING", 26, "#c01010", "white")], "NO PARKING"),
        (street[2], [((40, 220), "Gate B7", 30, "black", "#f2c200")], "Gate B7"),
        (bikes[0], [((40, 40), "SALE 50%", 32, "white", "#d02020")], "SALE 50%"),
        (bikes[1], [((300, 30), "Platform 3", 28, "white", "#203a80")], "Platform 3"),
        (
            bikes[2],
            [((60, 180), "OPEN", 36, "#103010", "#e8e8e0"), ((60, 225), "9am - 5pm", 22, "black", None)],
            "OPEN 9am - 5pm",
        ),
    ]
    for k, (img, items, text) in enumerate(signs):
        add(f"sign_{k}.jpg", "sign", draw(img, items), text)
    uis = [
        ("Settings", ["File", "Edit", "View", "Help"], ["Save", "Cancel"], "Ready"),
        ("Video Player", ["File", "Playback", "Audio"], ["Play", "Stop"], "Volume 75%"),
        ("Export Dataset", ["File", "Tools"], ["Export", "Close"], "Rows 1024"),
    ]
    for k, (title, menu, buttons, status) in enumerate(uis):
        text = " ".join([*title.split(), *menu, *buttons, *status.split()])
        add(f"ui_{k}.jpg", "ui", ui_screen(title, menu, buttons, status), text)
    cards = frames(samples / "onscreen_text.mp4", times=[1.0, 4.0])
    for k, (img, text) in enumerate(zip(cards, ["OPEN 24 HOURS", "PLATFORM 9"], strict=True)):
        add(f"onscreen_{k}.jpg", "onscreen", img, text)
    real = [
        (cache_root() / "models/transnetv2/test.mp4", 62.0),
        (cache_root() / "models/transnetv2/test.mp4", 150.0),
        (OPENCV / "Megamind.avi", 2.0),
        (samples / "bikes.mp4", 4.0),
        (samples / "bigbuckbunny.mp4", 2.0),
        (OPENCV / "vtest.avi", 40.0),
        (samples / "carphone_pristine.mp4", 2.0),
        (OPENCV / "tree.avi", 3.0),
    ]
    for k, (path, t) in enumerate(real):
        add(f"real_{k}.jpg", "real", frames(path, times=[t])[0], "")
    return rows


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = build()
    about = (
        "Labelled OCR frames (benchmarks/ocr_set.py draws them; text known exactly). text: every word shown, in "
        "reading order; maybe_text: words not penalised if read. Scored by word (case-sensitive) and by exact line "
        "(whitespace ignored)."
    )
    (OUT / "labels.json").write_text(json.dumps({"about": about, "frames": rows}, indent=1) + "\n")
    print(f"{len(rows)} frames in {OUT}")


if __name__ == "__main__":
    main()
