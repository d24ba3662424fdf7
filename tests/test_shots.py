"""shots: boundaries against generated ground truth, fades, keyframes and hashes from one decode pass."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

import curation.shots as shots_mod
from curation.decode import DecodedFrame, DecodeError, _ahead
from curation.phash import hamming, phash
from curation.probe import ProbeStage
from curation.samples import load_sidecar
from curation.shots import ShotsConfig, ShotsStage
from curation.stage import Rejected
from flows.cli import main as cli
from schemas import FrameRecord, ShotRecord, VideoRecord

FPS = 25
# Six shots of 40 frames each from different lavfi sources: hard cuts every 1.6 s.
SOURCES = [
    "testsrc=size=320x240:rate=25",
    "smptebars=size=320x240:rate=25",
    "color=c=0x802020:size=320x240:rate=25",
    "rgbtestsrc=size=320x240:rate=25",
    "testsrc2=size=320x240:rate=25",
    "color=c=0x204080:size=320x240:rate=25",
]
CUTS = [1.6, 3.2, 4.8, 6.4, 8.0]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("shots")
    inputs: list[str] = []
    for src in SOURCES:
        inputs += ["-f", "lavfi", "-i", f"{src}:duration=1.6"]
    chain = "".join(f"[{i}]" for i in range(len(SOURCES))) + f"concat=n={len(SOURCES)}:v=1[v]"
    ffmpeg(
        *inputs,
        "-filter_complex",
        chain,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(d / "six_cuts.mp4"),
    )
    for kind in ("fade", "fadeblack"):
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "smptebars=size=320x240:rate=25:duration=5",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25:duration=5",
            "-filter_complex",
            f"[0][1]xfade=transition={kind}:duration=1:offset=3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(d / f"x{kind}.mp4"),
        )  # centre at 3.5 s
    ffmpeg("-i", str(d / "six_cuts.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(d / "rotated.mp4"))
    (d / "broken.mp4").write_bytes(b"\x00" * 4096)
    return d


def video(path: Path) -> VideoRecord:
    rec = ProbeStage().process(path)
    assert isinstance(rec, VideoRecord), rec
    return rec


def detect(path: Path, **cfg: object) -> tuple[list[ShotRecord], list[FrameRecord]]:
    out = ShotsStage(ShotsConfig(**cfg)).process(video(path))
    assert not isinstance(out, Rejected), out
    return out


def boundary_f1(found: list[float], truth: list[float], tol: float) -> float:
    """F1 of boundary times, each true boundary matched at most once within `tol` seconds."""
    left = list(truth)
    hits = 0
    for t in found:
        near = [x for x in left if abs(x - t) <= tol]
        if near:
            left.remove(min(near, key=lambda x: abs(x - t)))
            hits += 1
    if not found or not truth:
        return float(found == truth)
    p, r = hits / len(found), hits / len(truth)
    return 0.0 if hits == 0 else 2 * p * r / (p + r)


def starts(shots: list[ShotRecord]) -> list[float]:
    return [s.start for s in shots[1:]]


def test_hard_cuts_f1(media: Path, samples_dir: Path) -> None:
    found, truth = [], []
    for path, cuts in [
        (media / "six_cuts.mp4", CUTS),
        (samples_dir / "cuts_narrated.mp4", load_sidecar(samples_dir / "cuts_narrated.mp4").cuts),
        (samples_dir / "onscreen_text.mp4", load_sidecar(samples_dir / "onscreen_text.mp4").cuts),
    ]:
        shots, _ = detect(path)
        assert all(s.transition_in == "cut" for s in shots[1:])
        f1 = boundary_f1(starts(shots), cuts, tol=2 / FPS)
        assert f1 >= 0.95, (path.name, starts(shots), cuts)
        found.append(starts(shots))
        truth.append(cuts)
    # Contiguous shots covering the video, times from timestamps.
    shots, _ = detect(media / "six_cuts.mp4")
    assert shots[0].start == 0.0 and shots[0].transition_in == "start"
    assert shots[-1].end == pytest.approx(9.6, abs=1 / FPS)
    assert all(a.end == b.start for a, b in zip(shots, shots[1:], strict=False))


@pytest.mark.parametrize("detector", ["content", "hash"])
def test_other_detectors_find_the_cuts(media: Path, detector: str) -> None:
    shots, _ = detect(media / "six_cuts.mp4", detector=detector)
    assert boundary_f1(starts(shots), CUTS, tol=2 / FPS) >= 0.95, starts(shots)


def test_real_clips_cuts(samples_dir: Path) -> None:
    for name in ("bikes.mp4", "Megamind.avi"):
        truth = load_sidecar(samples_dir / name).cuts  # approximate (read by eye): ±0.1 s
        shots, _ = detect(samples_dir / name)
        assert boundary_f1(starts(shots), truth, tol=0.1) == 1.0, (name, starts(shots))


def test_fades_found_near_their_centre(media: Path, samples_dir: Path) -> None:
    truth = load_sidecar(samples_dir / "fade.mp4").fades[0]
    cases = [
        (samples_dir / "fade.mp4", (truth.start + truth.end) / 2),
        (media / "xfade.mp4", 3.5),
        (media / "xfadeblack.mp4", 3.5),
    ]
    for path, centre in cases:
        shots, _ = detect(path)
        assert len(shots) == 2, (path.name, starts(shots))
        assert shots[1].transition_in == "fade"
        assert abs(shots[1].start - centre) <= 0.5, (path.name, shots[1].start)


def test_motion_is_not_a_shot_change(samples_dir: Path) -> None:
    shots, _ = detect(samples_dir / "shapes.mp4")
    assert len(shots) == 1


def test_keyframes(media: Path) -> None:
    shots, frames = detect(media / "six_cuts.mp4", jpeg_max_bytes=8_000)
    assert len(frames) == 3 * len(shots)
    by_id = {s.shot_id: s for s in shots}
    vid = shots[0].video_id
    for k, f in enumerate(frames):
        assert f.frame_id == f"{vid[:16]}-f{k:05d}"
        s = by_id[f.shot_id]
        assert s.start <= f.time < s.end
        assert len(f.jpeg) <= 8_000
        img = cv2.imdecode(np.frombuffer(f.jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[:2] == (f.height, f.width) and f.width <= 640
        assert len(f.phash) == 16 and int(f.phash, 16) >= 0
    assert [s.shot_id for s in shots] == [f"{vid[:16]}-s{i:04d}" for i in range(len(shots))]
    # Keyframes of a still shot hash alike; keyframes of different shots do not.
    still = [f.phash for f in frames if f.shot_id == shots[2].shot_id]
    assert max(hamming(still[0], h) for h in still) <= 4
    assert hamming(frames[0].phash, frames[-1].phash) > 12


def test_rotated_keyframes_are_upright(media: Path) -> None:
    _, frames = detect(media / "rotated.mp4")
    assert all((f.width, f.height) == (240, 320) for f in frames)


def test_one_decode_pass(media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real = shots_mod.FrameReader

    def counting(path: str, *a: object, **k: object) -> object:
        opened.append(path)
        return real(path, *a, **k)

    monkeypatch.setattr(shots_mod, "FrameReader", counting)
    detect(media / "six_cuts.mp4")
    assert len(opened) == 1


def test_decode_failure_is_rejected(media: Path) -> None:
    rec = video(media / "six_cuts.mp4")
    rec.path = str(media / "broken.mp4")
    out = ShotsStage().process(rec)
    assert isinstance(out, Rejected) and out.reason == "decode_error"


def test_phash_is_stable_under_small_changes() -> None:
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), (320, 240))
    assert hamming(phash(img), phash(cv2.GaussianBlur(img, (3, 3), 0))) <= 4
    assert hamming(phash(img), phash(255 - img)) > 20


def test_cli_json(media: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["shots", str(media / "six_cuts.mp4"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [round(s["start"], 2) for s in out["shots"]] == [0.0, *CUTS]
    assert set(out["shots"][0]) == {"start", "end"}


def test_cli_bad_file(media: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["shots", str(media / "broken.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.mp4" in err[0]


def test_avi_b_frame_timestamps_are_in_presentation_order(samples_dir: Path) -> None:
    """Megamind.avi (MPEG-4 with B-frames) hands PyAV pts in decode order (3, 5, 4, 6, 8, 7, ...) while the frames
    come in presentation order: times must still be pts-ordered (every cut was a frame late when they were not)."""
    import av

    path = samples_dir / "Megamind.avi"
    if not path.exists():
        pytest.skip("Megamind.avi needs `make assets`")
    with av.open(str(path)) as c:
        raw = [int(f.pts or 0) for p in c.demux(c.streams.video[0]) for f in p.decode()]
    assert any(b < a for a, b in zip(raw, raw[1:], strict=False))
    with shots_mod.FrameReader(path) as reader:
        pts = [f.pts for f in reader]
    assert pts == sorted(raw) == list(range(1, len(raw) + 1))


def test_frames_decoded_ahead_are_the_same_frames(media: Path) -> None:
    """The shots pass decodes ahead in a thread of its own: same frames in the same order, errors raised to the
    caller, and a caller that stops early leaves no decode thread behind."""
    import threading

    path = media / "six_cuts.mp4"
    with shots_mod.FrameReader(path) as plain:
        want = [(f.pts, f.image.tobytes()) for f in plain]
    with shots_mod.FrameReader(path, prefetch=3) as ahead:
        got = [(f.pts, f.image.tobytes()) for f in ahead]
    assert got == want and len(got) > 100
    with shots_mod.FrameReader(path, prefetch=3) as ahead:
        for i, _ in enumerate(ahead):
            if i == 5:
                break
    assert not any(t.name == "decode-ahead" for t in threading.enumerate())

    def fails() -> Iterator[DecodedFrame]:
        yield from shots_mod.FrameReader(path)
        raise DecodeError("the stream broke")

    with pytest.raises(DecodeError, match="the stream broke"):
        list(_ahead(fails(), 3))


def test_detection_image_is_scenedetects(media: Path) -> None:
    """The detectors see what scenedetect's CLI gives them: full-frame BGR, INTER_LINEAR to about 256 px."""
    path = media / "xfade.mp4"
    big = path.with_name("big.mp4")
    ffmpeg("-i", str(path), "-vf", "scale=1280:720", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(big))
    cap = cv2.VideoCapture(str(big))
    with shots_mod.FrameReader(big) as reader:
        for frame in list(reader)[:20]:
            ok, full = cap.read()
            assert ok
            want = cv2.resize(full, (256, 144), interpolation=cv2.INTER_LINEAR)
            assert frame.image.shape == (144, 256, 3)
            assert np.abs(frame.image.astype(int) - want.astype(int)).max() <= 1


def test_a_cut_wins_over_a_black_frame_next_to_it() -> None:
    """A film that starts on a black frame: the threshold detector's point fade does not move the cut."""
    B = shots_mod.Boundary
    merged = shots_mod.merge_boundaries([B(54.08, "fade", 54.08, 54.08), B(54.12, "cut", 54.12, 54.12)], 0.6)
    assert [(b.time, b.kind) for b in merged] == [(54.12, "cut")]
    # ... but a cross-fade that spans the cut is reported at its centre
    merged = shots_mod.merge_boundaries([B(10.7, "fade", 10.2, 11.2), B(11.16, "cut", 11.16, 11.16)], 0.6)
    assert [(b.time, b.kind) for b in merged] == [(10.7, "fade")]
