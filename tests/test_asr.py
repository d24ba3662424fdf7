"""ASR: word error rate on generated and real speech, silence and music give no words, AC3 audio works."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from curation.asr import AsrConfig, AsrStage
from curation.audio import SAMPLE_RATE, AudioDecodeError, iter_audio_windows
from curation.probe import ProbeStage
from curation.samples import load_sidecar
from curation.stage import Rejected
from flows.cli import main as cli
from schemas import VideoRecord
from trainers.wer import wer


@pytest.fixture(scope="module")
def asr() -> AsrStage:
    stage = AsrStage(AsrConfig(cpu_threads=1))
    stage.ensure_setup()
    return stage


def video(path: Path) -> VideoRecord:
    rec = ProbeStage().process(path)
    assert isinstance(rec, VideoRecord), rec
    return rec


def test_wer_helper() -> None:
    assert wer("Mr. Smith went home.", "mister smith went home") == 0.0
    assert wer("a b c d", "a x c") == pytest.approx(0.5)


def test_generated_narration(asr: AsrStage, samples_dir: Path) -> None:
    path = samples_dir / "cuts_narrated.mp4"
    truth = load_sidecar(path).speech
    out = asr.process(video(path))
    assert not isinstance(out, Rejected)
    segments, words = out
    hyp = " ".join(s.text for s in segments)
    assert wer(" ".join(s.text for s in truth), hyp) <= 0.15, hyp
    assert {s.language for s in segments} == {"en"}
    # Every word lies inside a narrated span (±0.5 s), in time order, with a probability.
    for w in words:
        assert any(s.start - 0.5 <= w.start <= w.end <= s.end + 0.5 for s in truth), w
        assert 0.0 <= w.probability <= 1.0
    assert [w.start for w in words] == sorted(w.start for w in words)
    seg_ids = {s.segment_id for s in segments}
    assert {w.segment_id for w in words} <= seg_ids
    assert segments[0].segment_id == f"{segments[0].video_id[:16]}-a0000"


def test_real_read_speech(asr: AsrStage, samples_dir: Path) -> None:
    path = samples_dir / "librivox_reading.mp4"
    truth = " ".join(s.text for s in load_sidecar(path).speech)
    hyp = " ".join(s.text for s in asr.transcribe(path).segments)
    assert wer(truth, hyp) <= 0.15, hyp


@pytest.mark.parametrize("name", ["onscreen_text.mp4", "shapes.mp4", "bigbuckbunny.mp4"])
def test_no_words_for_music_or_silence(asr: AsrStage, samples_dir: Path, name: str) -> None:
    transcript = asr.transcribe(samples_dir / name)
    assert transcript.duration > 4.0  # the audio was decoded: "no words" is not "no audio"
    assert transcript.segments == []


def test_ac3_dialogue(asr: AsrStage, samples_dir: Path) -> None:
    out = asr.process(video(samples_dir / "Megamind.avi"))
    assert not isinstance(out, Rejected)
    segments, words = out
    text = " ".join(s.text for s in segments).lower()
    assert "judge a book by its cover" in text and len(words) > 20
    assert words[-1].end <= 11.3


def test_no_audio_stream_means_no_rows(asr: AsrStage, samples_dir: Path) -> None:
    assert asr.process(video(samples_dir / "no_audio.mp4")) == ([], [])


def test_undecodable_audio_is_rejected(asr: AsrStage, samples_dir: Path, tmp_path: Path) -> None:
    rec = video(samples_dir / "cuts_narrated.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    rec.path = str(bad)
    out = asr.process(rec)
    assert isinstance(out, Rejected) and out.reason == "audio_decode_error"


def test_windows_are_bounded_and_contiguous(samples_dir: Path) -> None:
    path = samples_dir / "cuts_narrated.mp4"
    windows = list(iter_audio_windows(path, window_s=3.0, search_s=1.0))
    assert len(windows) >= 4
    assert all(len(w.samples) <= 3 * SAMPLE_RATE for w in windows)
    for a, b in zip(windows, windows[1:], strict=False):
        assert b.offset == pytest.approx(a.offset + a.duration, abs=1e-6)
    whole = np.concatenate([w.samples for w in iter_audio_windows(path)])
    assert sum(len(w.samples) for w in windows) == len(whole)
    with pytest.raises(AudioDecodeError):
        list(iter_audio_windows(samples_dir / "no_audio.mp4"))


def test_missing_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="asr.model"):
        AsrStage(AsrConfig(model="large-v3-not-here")).setup()


def test_cli_audio_file(samples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audio = tmp_path / "speech.m4a"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-i",
            str(samples_dir / "librivox_reading.mp4"),
            "-vn",
            "-c:a",
            "aac",
            str(audio),
        ],
        check=True,
    )
    assert cli(["transcribe", str(audio), "--json", "--threads", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["language"] == "en" and out["dropped"] == {} and out["subtitles"] == []
    seg = out["segments"][0]
    assert set(seg) == {"start", "end", "text", "language", "language_probability", "source", "words"}
    assert seg["language"] == "en" and seg["language_probability"] > 0.9 and seg["source"] == "asr"
    assert set(seg["words"][0]) == {"start", "end", "word", "probability"}
    assert cli(["transcribe", str(tmp_path / "missing.wav")]) == 2


def test_thread_limit_does_not_silence_asr(samples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CTranslate2 asked for more threads than OMP_THREAD_LIMIT emits no segments; the stage stays within it."""
    from curation.asr import cpu_threads

    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    assert cpu_threads(2) == 1 and cpu_threads(0) == 1
    stage = AsrStage(AsrConfig(cpu_threads=2))  # loaded here, under the limit, not the module's shared stage
    stage.ensure_setup()
    result = stage.process(video(samples_dir / "cuts_narrated.mp4"))
    assert not isinstance(result, Rejected)
    segments, words = result
    assert "kitchen" in " ".join(s.text for s in segments).lower() and words
    monkeypatch.setenv("OMP_THREAD_LIMIT", "4")
    assert cpu_threads(2) == 2
