"""Embedded text subtitle tracks (SubRip, ASS, WebVTT in MKV; mov_text in MP4) become transcript segments with
their language and times, and feed grounding tasks flagged for subtitle leakage like ASR text."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from curation.asr import AsrConfig, AsrStage
from curation.probe import ProbeStage
from curation.stage import Rejected
from curation.subtitles import iso639_1, parse_srt, read_subtitles, subtitle_streams
from flows.cli import main as cli
from schemas import VideoRecord

CUES = {
    "en": [(1.0, 2.5, "Hello there, friend."), (3.0, 4.2, "The train leaves at noon.")],
    "de": [(1.0, 2.5, "Hallo, mein Freund."), (3.0, 4.2, "Der Zug fährt um zwölf.")],
    "fr": [(1.5, 3.5, "Le train part à midi.")],
}


def _srt(path: Path, cues: list[tuple[float, float, str]], markup: bool = False) -> Path:
    def ts(t: float) -> str:
        return f"00:00:{int(t):02d},{round((t % 1) * 1000):03d}"

    body = "\n".join(
        f"{i + 1}\n{ts(a)} --> {ts(b)}\n{f'<i>{text}</i>' if markup else text}\n" for i, (a, b, text) in enumerate(cues)
    )
    path.write_text(body, encoding="utf-8")
    return path


def _mux(out: Path, tracks: list[tuple[str, str, str]], audio: bool, tmp: Path) -> Path:
    """A 5 s clip with subtitle tracks [(language code for CUES, ffmpeg subtitle codec, container tag)]."""
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=5"]
    if audio:
        cmd += ["-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.05:duration=5"]
    first = 2 if audio else 1
    for i, (lang, _, _) in enumerate(tracks):
        cmd += ["-i", str(_srt(tmp / f"{out.stem}{i}.srt", CUES[lang], markup=i == 0))]
    cmd += ["-map", "0"] + (["-map", "1"] if audio else [])
    for i in range(len(tracks)):
        cmd += ["-map", str(first + i)]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p"] + (["-c:a", "aac"] if audio else [])
    for i, (_, codec, tag) in enumerate(tracks):
        cmd += [f"-c:s:{i}", codec, f"-metadata:s:s:{i}", f"language={tag}"]
    subprocess.run([*cmd, str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("subs")
    return {
        "mkv": _mux(
            tmp / "subs.mkv", [("en", "ass", "eng"), ("de", "subrip", "ger"), ("fr", "webvtt", "fre")], True, tmp
        ),
        "mp4": _mux(tmp / "subs.mp4", [("en", "mov_text", "eng"), ("de", "mov_text", "deu")], False, tmp),
    }


def test_language_tags() -> None:
    assert [iso639_1(t) for t in ("eng", "ger", "deu", "fre", "pt-BR", "jpn", "und", None, "es")] == [
        "en", "de", "de", "fr", "pt", "ja", "", "", "es",
    ]  # fmt: skip


def test_parse_srt_strips_markup() -> None:
    doc = (
        "1\r\n00:00:01,000 --> 00:00:02,500\r\n{\\an8}<b>Two</b>\r\nlines &amp; more\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:03,000\r\nzero length\r\n"
    )
    assert [(c.start, c.end, c.text) for c in parse_srt(doc)] == [(1.0, 2.5, "Two lines & more")]


@pytest.mark.parametrize(("kind", "expected"), [("mkv", ["en", "de", "fr"]), ("mp4", ["en", "de"])])
def test_tracks_with_languages_and_times(media: dict[str, Path], kind: str, expected: list[str]) -> None:
    tracks = read_subtitles(media[kind])
    assert [t.language for t in tracks] == expected
    codecs = {t.codec for t in subtitle_streams(media[kind])}
    assert codecs == ({"ass", "subrip", "webvtt"} if kind == "mkv" else {"mov_text"}) or "ssa" in codecs
    for t in tracks:
        got = [(c.start, c.end, c.text) for c in t.cues]
        want = CUES[t.language]
        assert [text for _, _, text in got] == [text for _, _, text in want]
        # MKV shifts every stream by the AAC priming (23 ms) so no timestamp is negative: times stay on that timeline.
        for (a, b, _), (wa, wb, _) in zip(got, want, strict=True):
            assert a == pytest.approx(wa, abs=0.05) and b == pytest.approx(wb, abs=0.05)


def test_no_subtitles_is_empty(samples_dir: Path) -> None:
    assert read_subtitles(samples_dir / "shapes.mp4") == []


def _video(path: Path) -> VideoRecord:
    rec = ProbeStage().process(path)
    assert isinstance(rec, VideoRecord), rec
    return rec


@pytest.mark.slow
def test_asr_stage_writes_subtitle_segments(media: dict[str, Path]) -> None:
    stage = AsrStage(AsrConfig(cpu_threads=1))
    for kind, languages in (("mp4", {"en", "de"}), ("mkv", {"en", "de", "fr"})):
        out = stage.process(_video(media[kind]))
        assert not isinstance(out, Rejected), out
        segments, words = out
        subs = [s for s in segments if s.source == "subtitle"]
        assert {s.language for s in subs} == languages
        assert all(s.language_probability == 1.0 and s.segment_id.split("-")[1].startswith("s") for s in subs)
        assert [s for s in segments if s.source == "asr"] == []  # pink noise: no speech
        assert not any(w.segment_id in {s.segment_id for s in subs} for w in words)
        de = [s for s in subs if s.language == "de"]
        assert de[1].text == "Der Zug fährt um zwölf." and de[1].start == pytest.approx(3.0, abs=0.05)
    assert stage.stats({})["speech_seconds"] == 0.0


@pytest.mark.slow
def test_cli_prints_subtitle_tracks(media: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert cli(["transcribe", str(media["mp4"]), "--json", "--threads", "1"]) == 0  # no audio: subtitles only
    out = json.loads(capsys.readouterr().out)
    assert out["segments"] == [] and [s["language"] for s in out["subtitles"]] == ["en", "en", "de", "de"]
    assert {s["source"] for s in out["subtitles"]} == {"subtitle"}
    assert out["subtitles"][3]["text"] == "Der Zug fährt um zwölf." and out["subtitles"][3]["start"] == 3.0
