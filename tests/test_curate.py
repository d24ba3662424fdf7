"""`vidcot curate` end to end: bad inputs beside good ones, cache hits on a re-run, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemas import TABLES
from schemas.store import Dataset
from tests.runs import sigkill_run

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
GOOD = ("cuts_narrated.mp4", "no_audio.mp4", "onscreen_text.mp4")


def curate(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    """The perception half of `vidcot curate` (synthesis has its own end-to-end test)."""
    cmd = [
        sys.executable,
        "-m",
        "flows.cli",
        "curate",
        *map(str, args),
        "--until",
        "evidence",
        "--no-progress",
        "--json",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, **kw)  # type: ignore[call-overload]


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table_rows(root: Path) -> dict[str, list[str]]:
    """Every table's rows, order-independent, for comparing two datasets."""
    ds = Dataset(root)
    return {t: sorted(json.dumps(r, sort_keys=True, default=repr) for r in ds.read(t).to_pylist()) for t in TABLES}


@pytest.fixture(scope="module")
def good_dir(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("good")
    for name in GOOD:
        shutil.copy(samples_dir / name, d / name)
    return d


@pytest.fixture(scope="module")
def reference(good_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, float]:
    """One uninterrupted run over the good clips."""
    out = tmp_path_factory.mktemp("ref") / "ds"
    t0 = time.perf_counter()
    s = summary_of(curate(good_dir, "--out", out))
    return out, s, time.perf_counter() - t0


def test_bad_inputs_become_rejects_and_good_ones_are_complete(samples_dir: Path, tmp_path: Path) -> None:
    media = tmp_path / "in"
    media.mkdir()
    shutil.copy(samples_dir / "cuts_narrated.mp4", media / "clip one ü.mp4")
    shutil.copy(samples_dir / "cuts_narrated.mp4", media / "copy of clip.mp4")
    shutil.copy(samples_dir / "no_audio.mp4", media / "no audio.mp4")
    (media / "empty.mp4").write_bytes(b"")
    (media / "random.mp4").write_bytes(os.urandom(50_000))
    # With the index (moov) at the front the container opens, and the missing half is a decode error.
    faststart = tmp_path / "faststart.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(samples_dir / "fade.mp4"),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(faststart),
        ],
        check=True,
    )
    whole = faststart.read_bytes()
    (media / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    (media / "headless.mp4").write_bytes((samples_dir / "fade.mp4").read_bytes()[:100_000])
    notes = tmp_path / "notes.txt"
    notes.write_text("just some text, not a video\n")
    audio = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(audio), "hello there"], check=True)
    out = tmp_path / "ds"
    s = summary_of(curate(media, notes, audio, "--out", out))
    con_rows = Dataset(out).read("rejects").to_pylist()
    reasons = {Path(r["path"]).name: r["reason"] for r in con_rows}
    assert reasons["empty.mp4"] == "zero_bytes"
    assert reasons["random.mp4"] == "unreadable"
    assert reasons["truncated.mp4"] == "decode_error"
    assert reasons["headless.mp4"] == "unreadable"  # cut before its index: the container cannot be opened
    assert reasons["notes.txt"] == "unreadable"
    assert reasons["speech.wav"] == "no_video_stream"
    dup = sorted(["clip one ü.mp4", "copy of clip.mp4"])[1]
    assert reasons[dup] == "duplicate"
    assert s["kept"] == 2
    ds = Dataset(out)
    videos = {Path(v["path"]).name: v for v in ds.read("videos").to_pylist()}
    assert set(videos) == {sorted(["clip one ü.mp4", "copy of clip.mp4"])[0], "no audio.mp4"}
    assert all(v["status"] == "ok" for v in videos.values())
    for table in ("shots", "frames", "evidence"):
        assert {r["video_id"] for r in ds.read(table).to_pylist()} == {v["video_id"] for v in videos.values()}, table
    spoken = " ".join(r["text"] for r in ds.read("segments").to_pylist()).lower()
    assert "kitchen" in spoken and "water" in spoken


def test_rerun_does_no_stage_work(good_dir: Path, reference: tuple[Path, dict, float]) -> None:
    out, first, first_wall = reference
    before = table_rows(out)
    s = summary_of(curate(good_dir, "--out", out))
    assert s["stage_runs"] == {}, "a re-run must not run any stage"
    assert s["cache_hits"] == {"probe": 3, "shots": 3, "asr": 3, "evidence": 3}
    assert sum(s["rows_added"].values()) == 0 and s["revision"] == first["revision"]
    assert table_rows(out) == before


def test_sigkill_then_rerun_equals_uninterrupted(
    good_dir: Path, reference: tuple[Path, dict, float], tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    cmd = [
        sys.executable,
        "-m",
        "flows.cli",
        "curate",
        str(good_dir),
        "--out",
        str(out),
        "--until",
        "evidence",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    # Kill once the ASR stage has finished its first video: shots are done, the rest is in flight.
    while not any((out / ".cache" / "asr").glob("*/*/outcome.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "curate ended before it could be killed"
        time.sleep(0.1)
    sigkill_run(proc)
    assert not (out / "manifest.json").exists()
    s = summary_of(curate(good_dir, "--out", out))
    assert s["cache_hits"]["shots"] == 3 and s["cache_hits"]["asr"] >= 1
    assert table_rows(out) == table_rows(reference[0])


def test_shots_settings_back_and_forth_keep_every_keyframe_its_evidence(samples_dir: Path, tmp_path: Path) -> None:
    """Shots settings A → B → A: the third run's shots and evidence are both cache hits, but shots must be published
    again (its rows in the dataset are B's), and the store drops evidence rows whose frames changed unless the same
    revision writes them, so evidence must be published again too. It was not: A's frames were left without evidence."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(samples_dir / "bikes.mp4", inputs)
    ds = tmp_path / "ds"
    for per_shot in (1, 2, 1):
        summary_of(curate(inputs, "--out", ds, "--set", f"shots.keyframes_per_shot={per_shot}"))
        data = Dataset(ds)
        frames = set(data.read("frames", columns=["frame_id"]).column("frame_id").to_pylist())
        evidence = data.read("evidence", columns=["frame_id"]).column("frame_id").to_pylist()
        assert frames and sorted(evidence) == sorted(frames), per_shot
