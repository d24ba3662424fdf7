"""Audio decoding for ASR: one PyAV pass to 16 kHz mono float32, delivered in bounded windows.

faster-whisper can decode files itself, but it silently returns nothing for streams it fails on (e.g. AC3), so
vidcot decodes here, tolerating a few corrupt packets and raising `AudioDecodeError` when the stream is unusable.
Long audio never sits in memory whole: windows of at most `window_s` seconds are yielded with their offsets, cut
at the quietest moment near the window's end so that words are rarely split.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
_MAX_BAD_PACKET_SHARE = 0.25


class AudioDecodeError(Exception):
    """The audio stream cannot be decoded."""


@dataclass
class AudioWindow:
    """A piece of the audio track: samples (16 kHz mono float32) starting `offset` seconds into the timeline."""

    offset: float
    samples: np.ndarray

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def iter_audio_windows(path: str | Path, window_s: float = 600.0, search_s: float = 15.0) -> Iterator[AudioWindow]:
    """Decode the first audio stream of `path` into windows of at most `window_s` seconds.

    Offsets are on the file's timeline (the audio stream's first timestamp is honoured), so ASR times line up
    with video frame times. Raises `AudioDecodeError` if the file has no decodable audio.
    """
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as e:
        raise AudioDecodeError(f"cannot open {path}: {getattr(e, 'strerror', None) or e}") from e
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        limit = int(window_s * SAMPLE_RATE)
        search = min(int(search_s * SAMPLE_RATE), limit // 2)
        pending: list[np.ndarray] = []
        pending_len = 0
        offset: float | None = None
        packets = bad = total = 0

        def chunks() -> Iterator[np.ndarray]:
            nonlocal packets, bad, offset
            for packet in container.demux(stream):
                packets += 1
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    bad += 1  # a corrupt packet is a short gap; the share of them decides below
                    continue
                for frame in frames:
                    if offset is None:
                        # Encoder priming can make the first timestamp slightly negative; times stay >= 0.
                        known = frame.pts is not None and frame.time_base is not None
                        offset = max(0.0, float(frame.pts * frame.time_base)) if known else 0.0  # type: ignore[operator]
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)

        emitted = 0
        try:
            for chunk in chunks():
                pending.append(chunk)
                pending_len += len(chunk)
                total += len(chunk)
                while pending_len >= limit:
                    buf = np.concatenate(pending)
                    cut = _quiet_cut(buf[:limit], search)
                    yield AudioWindow((offset or 0.0) + emitted / SAMPLE_RATE, buf[:cut].astype(np.float32))
                    emitted += cut
                    pending, pending_len = [buf[cut:]], len(buf) - cut
        except av.error.FFmpegError as e:
            raise AudioDecodeError(f"decoding audio of {path} failed: {e}") from e
        if packets and bad / packets > _MAX_BAD_PACKET_SHARE:
            raise AudioDecodeError(f"{bad} of {packets} audio packets of {path} do not decode")
        if total == 0:
            raise AudioDecodeError(f"the audio stream of {path} decodes to no samples")
        if pending_len:
            yield AudioWindow((offset or 0.0) + emitted / SAMPLE_RATE, np.concatenate(pending).astype(np.float32))


def _quiet_cut(buf: np.ndarray, search: int) -> int:
    """Index near the end of `buf` where the 50 ms energy is lowest (where a window may end between words)."""
    if search <= 0:
        return len(buf)
    hop = SAMPLE_RATE // 20
    tail = buf[len(buf) - search :]
    n = len(tail) // hop
    if n == 0:
        return len(buf)
    energy = np.square(tail[: n * hop].reshape(n, hop)).mean(axis=1)
    return len(buf) - search + int(np.argmin(energy)) * hop + hop // 2
