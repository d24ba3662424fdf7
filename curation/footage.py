"""Harder real footage for shot detection: the project's real clips joined by cross-fades, a fade through black and
hard cuts, with brightness flashes, lighting changes and camera-like motion added, re-encoded at 720p.

Real footage has what generated cuts lack: flashes, lighting that changes within a shot, a camera that moves. A
detector that reports a boundary on any of them is wrong there. The clip is built with ffmpeg from the real clips
that `vidcot samples` and `make assets` provide (nothing is downloaded, no media is committed), and its truth is
known by construction: where the joins are, plus the hard cuts inside Megamind.avi and bikes.mp4 (read by eye and
confirmed by scenedetect's detect-adaptive on the source files).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

RATE = 25
SIZE = (1280, 720)
MEGAMIND_CUTS = (4.13, 6.46, 8.38)  # in Megamind.avi's own time
BIKES_CUTS = (1.2, 3.04, 5.48, 7.48)


@dataclass
class HardClip:
    """The built file and what is (and is not) a shot boundary in it, in seconds."""

    path: Path
    cuts: list[float]
    fades: list[tuple[float, float]]  # (start, end) of each gradual transition
    not_boundaries: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # what, spans

    def truth(self) -> list[float]:
        return sorted([*self.cuts, *((a + b) / 2 for a, b in self.fades)])


def _norm(label: str, extra: str = "") -> str:
    w, h = SIZE
    chain = f"{extra}," if extra else ""
    return f"{chain}fps={RATE},scale={w}:{h},setsar=1,format=yuv420p,settb=1/{RATE * 1000}[{label}]"


def build_hard_clip(samples: Path, assets: Path, out: Path) -> HardClip:
    """Encode the clip to `out` (about 65 s of 720p; a minute or two of libx264 on two cores) unless it exists.

    `samples` is a `vidcot samples` directory (Megamind.avi, bikes.mp4, bigbuckbunny.mp4, carphone_pristine.mp4);
    `assets` the OpenCV examples folder of `make assets` (vtest.avi, tree.avi).
    """
    # Segment timeline (output seconds): Megamind 0-11.2, dissolve 10.2-11.2 into bikes (10.2-19.8, two flashes),
    # cut to vtest with a moving crop (19.8-33.8), cut to tree with two lighting changes (33.8-45.8), dissolve
    # 44.8-45.8 into Big Buck Bunny (to 50.0, fading out), fade in of carphone (50.0-54.0), cut to Megamind again
    # with the camera swaying (54.0-65.2).
    inputs = [
        samples / "Megamind.avi",
        samples / "bikes.mp4",
        assets / "vtest.avi",
        assets / "tree.avi",
        samples / "bigbuckbunny.mp4",
        samples / "carphone_pristine.mp4",
        samples / "Megamind.avi",
    ]
    flashes = [(2.2, 2.28), (6.4, 6.52)]  # bikes time: three and four frames much brighter
    flash = "+".join(f"between(t,{a},{b})" for a, b in flashes)
    sway = "crop=480:352:x='120+110*sin(t*1.3)':y='88+60*sin(t*0.7)'"
    lights = "eq=brightness='0.25*clip((t-3)/1.5,0,1)-0.3*clip((t-8)/0.4,0,1)':eval=frame"
    graph = ";".join(
        [
            "[0:v]trim=duration=11.2,setpts=PTS-STARTPTS," + _norm("m"),
            "[1:v]trim=duration=9.6,setpts=PTS-STARTPTS," + _norm("b", f"eq=brightness=0.45:enable='{flash}'"),
            "[2:v]trim=duration=14,setpts=PTS-STARTPTS,crop=480:360:x='abs(mod(t*45,576)-288)':y=100," + _norm("v"),
            "[3:v]trim=duration=12,setpts=PTS-STARTPTS," + _norm("t", lights),
            "[4:v]trim=duration=5.2,setpts=PTS-STARTPTS," + _norm("y", "fade=t=out:st=4.4:d=0.8"),
            "[5:v]trim=duration=4,setpts=PTS-STARTPTS," + _norm("c", "fade=t=in:st=0:d=0.8"),
            "[6:v]trim=duration=11.2,setpts=PTS-STARTPTS," + _norm("s", sway),
            "[m][b]xfade=transition=fade:duration=1:offset=10.2[mb]",
            "[t][y]xfade=transition=fade:duration=1:offset=11[ty]",
            "[mb][v][ty][c][s]concat=n=5:v=1:a=0[out]",
        ]
    )
    if not out.exists():
        tmp = out.with_suffix(".part.mp4")
        cmd = ["ffmpeg", "-v", "error", "-y"]
        for p in inputs:
            cmd += ["-i", str(p)]
        cmd += ["-filter_complex", graph, "-map", "[out]", "-an", "-c:v", "libx264", "-preset", "veryfast"]
        cmd += ["-crf", "22", "-pix_fmt", "yuv420p", "-r", str(RATE), str(tmp)]
        subprocess.run(cmd, check=True, capture_output=True)
        tmp.rename(out)
    cuts = [
        *MEGAMIND_CUTS,
        *(10.2 + t for t in BIKES_CUTS),
        19.8,
        33.8,
        54.0,
        *(54.0 + t for t in MEGAMIND_CUTS),
    ]
    fades = [(10.2, 11.2), (44.8, 45.8), (49.2, 50.8)]
    not_boundaries = {
        "flash": [(10.2 + a, 10.2 + b) for a, b in flashes],
        "lighting": [(36.8, 38.3), (41.8, 42.2)],
        "camera motion": [(19.8, 33.8), (54.0, 65.2)],
    }
    return HardClip(out, [round(c, 3) for c in cuts], fades, not_boundaries)


def scenedetect_cuts(path: Path) -> list[float]:
    """Cut times from `scenedetect -i PATH detect-adaptive list-scenes` (the CLI at its defaults), in seconds."""
    exe = Path(sys.executable).with_name("scenedetect")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(exe), "-q", "-i", str(path), "-o", tmp, "detect-adaptive", "list-scenes", "-q", "-f", "scenes.csv"]
        subprocess.run(cmd, check=True, capture_output=True)
        rows = list(csv.reader((Path(tmp) / "scenes.csv").open()))
    # Row 0: the timecode list; row 1: the header; then one row per scene with its start in seconds in column 3.
    return [float(r[3]) for r in rows[3:]]


def real_clips(samples: Path, assets: Path) -> list[Path]:
    """Every real clip the project has: the `vidcot samples` real ones, OpenCV's examples, TransNetV2's test clip."""
    from trainers.embedded import cache_root

    paths = [samples / n for n in ("Megamind.avi", "bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")]
    paths += [assets / "vtest.avi", assets / "tree.avi", cache_root() / "models" / "transnetv2" / "test.mp4"]
    return [p for p in paths if p.exists()]


def build_lighting_clip(samples: Path, out: Path) -> Path:
    """bikes.mp4 (real, 25 fps, five hard cuts) with lighting that changes within its shots, at its own rate (no
    repeated frames to hide a gradual change): a 1.5 s brightening (3.3-4.8 s), a 0.8 s darkening that stays
    (7.6-8.4 s), and a three-frame flash (6.0 s). None of it is a shot boundary."""
    lights = (
        "eq=brightness='0.3*clip((t-3.3)/1.5,0,1)-0.3*clip((t-7.6)/0.8,0,1)':eval=frame,"
        "eq=brightness=0.45:enable='between(t,6.0,6.08)'"
    )
    if not out.exists():
        tmp = out.with_suffix(".part.mp4")
        cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(samples / "bikes.mp4"), "-vf", lights, "-an"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", str(tmp)]
        subprocess.run(cmd, check=True, capture_output=True)
        tmp.rename(out)
    return out
