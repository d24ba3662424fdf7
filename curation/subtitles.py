"""Embedded text subtitle tracks (SubRip, ASS/SSA, mov_text, WebVTT) as timed cues with their language.

Subtitles are a second transcript: a file with Japanese audio and English subtitles has English text that ASR will
never produce. PyAV lists the streams and their language tags without decoding anything; ffmpeg converts each text
track to SubRip, one format to parse whatever the container held. Bitmap tracks (PGS, VobSub, DVB) carry no text
and are skipped. Times are seconds on the file's own timeline (`-copyts`), like every other time in vidcot.
"""

from __future__ import annotations

import html
import logging
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import av

log = logging.getLogger(__name__)

TEXT_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"})
_TIMEOUT_S = 120

# ISO 639-2 (bibliographic and terminological) → ISO 639-1, the codes Whisper reports, so both sources compare.
_ISO639_2 = {
    "eng": "en", "ger": "de", "deu": "de", "fre": "fr", "fra": "fr", "spa": "es", "por": "pt", "ita": "it",
    "dut": "nl", "nld": "nl", "jpn": "ja", "chi": "zh", "zho": "zh", "kor": "ko", "rus": "ru", "ara": "ar",
    "hin": "hi", "tur": "tr", "pol": "pl", "swe": "sv", "nor": "no", "nob": "no", "dan": "da", "fin": "fi",
    "gre": "el", "ell": "el", "heb": "he", "cze": "cs", "ces": "cs", "slo": "sk", "slk": "sk", "hun": "hu",
    "rum": "ro", "ron": "ro", "bul": "bg", "ukr": "uk", "srp": "sr", "hrv": "hr", "slv": "sl", "cat": "ca",
    "baq": "eu", "eus": "eu", "glg": "gl", "ice": "is", "isl": "is", "est": "et", "lav": "lv", "lit": "lt",
    "tha": "th", "vie": "vi", "ind": "id", "may": "ms", "msa": "ms", "per": "fa", "fas": "fa", "urd": "ur",
    "ben": "bn", "tam": "ta", "tel": "te", "mar": "mr", "wel": "cy", "cym": "cy", "gle": "ga", "afr": "af",
    "swa": "sw", "fil": "tl", "tgl": "tl", "lat": "la",
}  # fmt: skip
_UNDETERMINED = frozenset({"", "und", "mul", "zxx", "mis", "unknown"})


class SubtitleError(Exception):
    """The file cannot be opened to look for subtitle tracks."""


@dataclass
class Cue:
    start: float
    end: float
    text: str


@dataclass
class SubtitleTrack:
    """One text subtitle stream: its index among the file's subtitle streams, codec, language ("" unknown)."""

    index: int
    codec: str
    language: str
    title: str = ""
    cues: list[Cue] = field(default_factory=list)


def iso639_1(tag: str | None) -> str:
    """A container language tag ("eng", "pt-BR", "de") as an ISO 639-1 code; "" when undetermined."""
    t = (tag or "").strip().lower().replace("_", "-").split("-")[0]
    if t in _UNDETERMINED:
        return ""
    if len(t) == 2:
        return t
    return _ISO639_2.get(t, t)


def subtitle_streams(path: str | Path) -> list[SubtitleTrack]:
    """The text subtitle streams of `path` (no cues yet), from the container's headers."""
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as e:
        raise SubtitleError(f"cannot open {path} for subtitles: {e}") from e
    tracks = []
    with container:
        for i, s in enumerate(container.streams.subtitles):
            codec = s.codec_context.name if s.codec_context is not None else ""
            if codec not in TEXT_CODECS:
                log.info("%s: subtitle stream %d is %s (not text), skipped", path, i, codec or "unknown")
                continue
            meta = dict(s.metadata or {})
            tracks.append(SubtitleTrack(i, codec, iso639_1(meta.get("language")), meta.get("title", "")))
    return tracks


def read_subtitles(path: str | Path) -> list[SubtitleTrack]:
    """Every text subtitle track of `path` with its cues. A track ffmpeg cannot convert is logged and skipped."""
    tracks = subtitle_streams(path)
    for t in tracks:
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-copyts", "-i", str(path), "-map", f"0:s:{t.index}",
               "-c:s", "srt", "-f", "srt", "-"]  # fmt: skip
        try:
            out = subprocess.run(cmd, capture_output=True, timeout=_TIMEOUT_S, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            err = getattr(e, "stderr", b"") or b""
            log.warning("%s: subtitle stream %d unreadable: %s", path, t.index, err.decode(errors="replace")[-300:])
            continue
        t.cues = parse_srt(out.stdout.decode("utf-8", errors="replace"))
    return [t for t in tracks if t.cues]


_TIME = r"(\d+):(\d{2}):(\d{2})[,.](\d{3})"
_BLOCK = re.compile(_TIME + r"\s*-->\s*" + _TIME + r"[^\n]*\n(.*?)(?:\n\s*\n|\Z)", re.DOTALL)
_TAG = re.compile(r"<[^>]+>|\{[^}]*\}")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text: str) -> list[Cue]:
    """Cues of a SubRip document: markup (<i>, {\\an8}) removed, lines joined, empty cues dropped."""
    cues = []
    for m in _BLOCK.finditer(text.replace("\r\n", "\n")):
        body = html.unescape(_TAG.sub("", m.group(9))).replace("\\N", " ")
        clean = " ".join(body.split())
        start, end = _seconds(*m.group(1, 2, 3, 4)), _seconds(*m.group(5, 6, 7, 8))
        if clean and end > start:
            cues.append(Cue(start, end, clean))
    return cues
