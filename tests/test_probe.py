"""probe: metadata of good files, and the right reason code for every kind of bad one."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from curation.probe import ProbeConfig, ProbeStage, find_duplicates
from curation.stage import Rejected
from schemas import VideoRecord


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small files with known properties, good and bad."""
    d = tmp_path_factory.mktemp("probe")
    src = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=4"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=4"]
    enc = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]
    ffmpeg(*src, *tone, *enc, str(d / "good.mp4"))
    ffmpeg("-i", str(d / "good.mp4"), "-c", "copy", "-movflags", "+faststart", str(d / "faststart.mp4"))
    data = (d / "good.mp4").read_bytes()
    (d / "truncated_index.mp4").write_bytes(data[: len(data) // 2])  # moov at the end: cut off
    fs = (d / "faststart.mp4").read_bytes()
    (d / "truncated_media.mp4").write_bytes(fs[: int(len(fs) * 0.6)])  # index first, media cut off
    (d / "zero.mp4").write_bytes(b"")
    (d / "random.mp4").write_bytes(bytes((i * 7919 + 13) % 251 for i in range(50_000)))
    (d / "notes.txt").write_text("not a video\n" * 100)
    ffmpeg(*tone, "-c:a", "aac", str(d / "audio_only.m4a"))
    ffmpeg(*src, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(d / "silent.mp4"))
    ffmpeg("-i", str(d / "silent.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(d / "rotated.mp4"))
    # Variable frame rate: 25 fps for 2 s, then 10 fps.
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25:duration=4",
        "-vf",
        "setpts='if(lt(N,50),N/25,2+(N-50)/10)/TB'",
        "-vsync",
        "vfr",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(d / "vfr.mp4"),
    )
    ffmpeg("-f", "lavfi", "-i", "testsrc=rate=25:duration=0.2", "-pix_fmt", "yuv420p", str(d / "tiny.mp4"))
    return d


def probe(path: Path, **cfg: object) -> VideoRecord | Rejected:
    return ProbeStage(ProbeConfig(**cfg)).process(path)


def test_good_file_metadata(media: Path) -> None:
    rec = probe(media / "good.mp4")
    assert isinstance(rec, VideoRecord)
    assert rec.video_id == hashlib.sha256((media / "good.mp4").read_bytes()).hexdigest()
    assert rec.duration == pytest.approx(4.0, abs=0.05)
    assert rec.fps == pytest.approx(25.0)
    assert (rec.width, rec.height, rec.rotation) == (160, 120, 0)
    assert rec.video_codec == "h264" and rec.audio_codec == "aac" and rec.has_audio
    assert rec.audio_sample_rate == 44100 and rec.audio_channels == 1
    assert not rec.vfr and rec.status == "ok"
    assert rec.provenance.stage == "probe"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("zero.mp4", "zero_bytes"),
        ("random.mp4", "unreadable"),
        ("notes.txt", "unreadable"),
        ("truncated_index.mp4", "unreadable"),
        ("truncated_media.mp4", "decode_error"),
        ("audio_only.m4a", "no_video_stream"),
        ("tiny.mp4", "too_short"),
    ],
)
def test_bad_inputs_get_reason_codes(media: Path, name: str, reason: str) -> None:
    result = probe(media / name)
    assert isinstance(result, Rejected), name
    assert result.reason == reason, result.detail
    assert result.detail


def test_too_long_is_configurable(media: Path) -> None:
    result = probe(media / "good.mp4", max_duration=3.0)
    assert isinstance(result, Rejected) and result.reason == "too_long"


def test_missing_audio_is_not_a_reject(media: Path) -> None:
    rec = probe(media / "silent.mp4")
    assert isinstance(rec, VideoRecord)
    assert not rec.has_audio and rec.audio_codec is None and rec.audio_channels is None


def test_rotation_reports_display_size(media: Path) -> None:
    rec = probe(media / "rotated.mp4")
    assert isinstance(rec, VideoRecord)
    assert rec.rotation == 90 and (rec.width, rec.height) == (120, 160)


def test_variable_frame_rate(media: Path) -> None:
    rec = probe(media / "vfr.mp4")
    assert isinstance(rec, VideoRecord)
    assert rec.vfr
    # 100 frames at a nominal 25 fps would be 4 s; the timestamps say the last frame starts at 6.9 s.
    assert 6.75 <= rec.duration <= 7.0


def test_odd_file_names(media: Path, tmp_path: Path) -> None:
    odd = tmp_path / "dir with space" / "clip ünïcode 视频 #1.mp4"
    odd.parent.mkdir()
    shutil.copy(media / "good.mp4", odd)
    rec = probe(odd)
    assert isinstance(rec, VideoRecord) and rec.path == str(odd)


def test_duplicates_keep_the_first_path(media: Path, tmp_path: Path) -> None:
    copy = tmp_path / "zz_copy.mp4"
    shutil.copy(media / "good.mp4", copy)
    recs = [probe(copy), probe(media / "good.mp4"), probe(media / "silent.mp4")]
    assert all(isinstance(r, VideoRecord) for r in recs)
    dupes = find_duplicates(recs)  # type: ignore[arg-type]
    assert [(r.path, why.reason) for r, why in dupes] == [(str(copy), "duplicate")]
    assert str(media / "good.mp4") in dupes[0][1].detail


def test_real_clips(samples_dir: Path) -> None:
    mega = probe(samples_dir / "Megamind.avi")
    assert isinstance(mega, VideoRecord)
    assert mega.audio_codec == "ac3" and mega.duration == pytest.approx(11.26, abs=0.05)
    bikes = probe(samples_dir / "bikes.mp4")
    assert isinstance(bikes, VideoRecord) and not bikes.has_audio and not bikes.vfr
