"""probe: read a file's container and streams (PyAV) without decoding all of it, and reject what cannot be used.

Reason codes: `zero_bytes`, `unreadable`, `no_video_stream`, `too_short`, `too_long`, `decode_error`, and
`duplicate` (from `find_duplicates`, which the flow applies across one run's records). A file without audio is
kept (`has_audio=False`); it simply gets no ASR.

A file whose container cannot be parsed at all — random bytes, a text file, an mp4 cut off before its index
(`moov`) — is `unreadable`. A container that parses but whose frames do not decode at the start or near the end
(e.g. an mp4 with its index first, cut off in the middle of the media data) is `decode_error`.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from pydantic import Field, model_validator

from curation.stage import Rejected, Stage, StageConfig, TimeLimit
from schemas import VideoRecord

log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20
_TEXT_FORMATS = {"tty", "srt", "webvtt", "ass", "subviewer", "microdvd", "jacosub"}
_IMAGE_FORMATS = {"image2"}  # animated gif/webp are video enough


class ProbeConfig(StageConfig):
    """Limits for what counts as a usable video."""

    min_duration: float = Field(0.5, ge=0, description="seconds; shorter videos are rejected `too_short`")
    max_duration: float = Field(4 * 3600.0, gt=0, description="seconds; longer videos are `too_long`")
    vfr_tolerance: float = Field(
        0.02, gt=0, description="relative spread of frame durations above which a video is variable-rate"
    )
    vfr_sample_packets: int = Field(120, ge=8, description="video packets read to judge variable frame rate")
    tail_seconds: float = Field(
        2.0, gt=0, description="how far before the end the probe seeks to check the file is not truncated"
    )
    end_slack: float = Field(
        0.5, ge=0, description="seconds the last decodable frame may fall short of the stated duration"
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> ProbeConfig:
        if self.min_duration > self.max_duration:
            raise ValueError(
                f"min_duration ({self.min_duration}) is above max_duration ({self.max_duration}): every video "
                "would be rejected"
            )
        return self


def _os_reason(e: OSError) -> str:
    """Why the OS refused a file, in words: 'the file: File name too long (ENAMETOOLONG)'."""
    code = errno.errorcode.get(e.errno or 0)
    return f"the file: {e.strerror or e}" + (f" ({code})" if code else "")


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a folder (one that cannot be listed, or given as a video)",
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((what for test, what in kinds.items() if test(mode)), "a special file")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks so large files never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def find_duplicates(records: Iterable[VideoRecord]) -> list[tuple[VideoRecord, Rejected]]:
    """Records whose content hash another record already has, each with a `duplicate` rejection.

    The copy with the smallest path is kept, so the choice does not depend on the order files were probed in
    (a re-run must produce the same dataset).
    """
    by_hash: dict[str, list[VideoRecord]] = {}
    for rec in records:
        by_hash.setdefault(rec.video_id, []).append(rec)
    dupes: list[tuple[VideoRecord, Rejected]] = []
    for group in by_hash.values():
        group.sort(key=lambda r: r.path)
        for rec in group[1:]:
            dupes.append((rec, Rejected("duplicate", f"same content as {group[0].path}")))
    return dupes


def _rate(value: Fraction | None) -> float | None:
    return float(value) if value else None


class ProbeStage(Stage[ProbeConfig, Path, VideoRecord]):
    """Container and stream metadata for one file, or a `Rejected` with a reason code."""

    name = "probe"
    timeout = TimeLimit(120.0, "to probe one video")
    Config = ProbeConfig
    version = 1
    per_video = True
    writes = ("videos",)
    fatal = True

    @classmethod
    def item_key(cls, item: Any) -> str:
        """A file's resolved path, size and mtime: a file is probed again when any changes (OSError if gone)."""
        path = Path(item)
        st = path.stat()
        try:
            where = str(path.resolve())
        except RuntimeError as e:  # a link loop, before Python 3.13 made it an OSError
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from e
        return hashlib.sha256(f"{where}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:32]

    @classmethod
    def duplicates(cls, records: list[Any]) -> list[tuple[Any, Rejected]]:
        return list(find_duplicates(records))

    def process(self, item: Path) -> VideoRecord | Rejected:
        path = Path(item)
        try:
            st = path.stat()
        except OSError as e:
            return Rejected("unreadable", f"cannot open {_os_reason(e)}")
        if not stat.S_ISREG(st.st_mode):
            return Rejected("unreadable", f"{_kind(st.st_mode)}, not a regular file")
        size = st.st_size
        if size == 0:
            return Rejected("zero_bytes", "file is empty")
        try:
            video_id = sha256_file(path)
        except OSError as e:
            return Rejected("unreadable", f"cannot read {_os_reason(e)}")
        try:
            container = av.open(str(path), mode="r", metadata_errors="ignore")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
            why = getattr(e, "strerror", None) or str(e)
            return Rejected("unreadable", f"not a readable media container ({why})")
        try:
            return self._probe_open(path, size, video_id, container)
        except av.error.FFmpegError as e:
            fmt = container.format.name
            if isinstance(e, OSError) and e.errno in (errno.EPERM, errno.ESPIPE):  # ffmpeg's AVERROR(EPERM) on seek
                return Rejected(
                    "decode_error",
                    f"ffmpeg cannot seek in this {fmt} file ({e.strerror}): a raw stream with no container index "
                    "cannot be checked; remux it into a container (e.g. ffmpeg -i IN -c copy OUT.mp4)",
                )
            return Rejected("decode_error", f"{fmt}: {type(e).__name__}: {e}")
        finally:
            container.close()

    def _probe_open(
        self, path: Path, size: int, video_id: str, container: av.container.InputContainer
    ) -> VideoRecord | Rejected:
        cfg = self.config
        fmt = container.format.name
        # ffmpeg reads any text as ANSI art (the `tty` demuxer) and any picture as a one-frame video.
        if fmt in _TEXT_FORMATS:
            return Rejected("unreadable", f"a text file (ffmpeg format {fmt}), not a video")
        if fmt in _IMAGE_FORMATS or fmt.endswith("_pipe"):
            return Rejected("no_video_stream", f"a still image (ffmpeg format {fmt}), not a video")
        videos = [s for s in container.streams.video if not _is_cover_art(s)]
        if not videos:
            return Rejected("no_video_stream", f"container {container.format.name} has no video stream")
        vs = videos[0]
        audios = list(container.streams.audio)
        aus = audios[0] if audios else None

        duration = _duration(container, vs)
        if duration is None:
            return Rejected("decode_error", "duration unknown and no timestamps in the video stream")
        if duration < cfg.min_duration:
            return Rejected("too_short", f"{duration:.3f} s < min_duration {cfg.min_duration} s")
        if duration > cfg.max_duration:
            return Rejected("too_long", f"{duration:.1f} s > max_duration {cfg.max_duration} s")

        vfr = _is_vfr(container, vs, cfg.vfr_sample_packets, cfg.vfr_tolerance)
        first = _first_frame(container, vs)
        if first is None:
            return Rejected("decode_error", "no video frame decodes at the start of the file")
        rotation = int(first.rotation or 0) % 360
        # The tail check is what catches truncation: an index that promises frames the file no longer holds.
        tb = vs.time_base or Fraction(1, 90000)
        start = float(vs.start_time * tb) if vs.start_time is not None else 0.0
        end = start + duration
        reached = _last_decoded_time(container, vs, max(start, end - cfg.tail_seconds))
        # A duration from the stream's own header is exact; one from the container may include longer audio.
        slack = cfg.end_slack if _stream_duration(vs) is not None else cfg.end_slack + 0.05 * duration + 1.0
        if reached is None or reached < end - slack:
            got = "nothing" if reached is None else f"up to {reached:.2f} s"
            return Rejected(
                "decode_error",
                f"video decodes {got} of {end:.2f} s near the end (truncated or corrupt file?)",
            )

        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        fps = _rate(vs.average_rate) or _rate(vs.guessed_rate)
        return VideoRecord(
            video_id=video_id,
            path=str(path),
            size_bytes=size,
            status="ok",
            duration=duration,
            fps=fps,
            width=width,
            height=height,
            rotation=rotation,
            vfr=vfr,
            container=container.format.name,
            video_codec=vs.codec_context.name,
            has_audio=aus is not None,
            audio_codec=aus.codec_context.name if aus is not None else None,
            audio_sample_rate=aus.codec_context.sample_rate if aus is not None else None,
            audio_channels=aus.codec_context.channels if aus is not None else None,
            provenance=self.provenance(),
        )


def _is_cover_art(stream: av.video.stream.VideoStream) -> bool:
    """Embedded album art shows up as a one-frame video stream in audio files; it is not video."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _stream_duration(vs: av.video.stream.VideoStream) -> float | None:
    if vs.duration is not None and vs.time_base is not None and vs.duration > 0:
        return float(vs.duration * vs.time_base)
    return None


def _duration(container: av.container.InputContainer, vs: av.video.stream.VideoStream) -> float | None:
    if (d := _stream_duration(vs)) is not None:
        return d
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    # No header duration (some raw or streamed files): the last packet timestamp tells, at the cost of a demux.
    last = None
    for packet in container.demux(vs):
        if packet.pts is not None:
            end = packet.pts + (packet.duration or 0)
            last = end if last is None else max(last, end)
    container.seek(0)
    if last is None or vs.time_base is None:
        return None
    begin = vs.start_time or 0
    return float((last - begin) * vs.time_base)


def _is_vfr(container: av.container.InputContainer, vs: av.video.stream.VideoStream, n: int, tol: float) -> bool:
    """Variable frame rate, judged from the spread of presentation-time steps of the first `n` packets."""
    pts: list[int] = []
    for packet in container.demux(vs):
        if packet.pts is not None:
            pts.append(packet.pts)
        if len(pts) >= n:
            break
    container.seek(0)
    pts.sort()  # packets come in decode order; B-frames reorder presentation times
    # The last packets read may still be missing reordered neighbours: judge only the settled prefix.
    pts = pts[: max(0, len(pts) - 16)]
    steps = [b - a for a, b in zip(pts, pts[1:], strict=False) if b > a]
    if len(steps) >= 4:
        lo, hi = min(steps), max(steps)
        if (hi - lo) / hi > tol:
            return True
    # Containers also say so: a real frame rate that differs from the average rate.
    avg, real = vs.average_rate, vs.base_rate
    return bool(avg and real and abs(float(avg) - float(real)) / float(real) > tol)


def _first_frame(container: av.container.InputContainer, vs: av.video.stream.VideoStream) -> av.VideoFrame | None:
    # A stream that yields nothing in 250 packets is not going to.
    for tries, packet in enumerate(container.demux(vs)):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            frames = []
        for frame in frames:
            return frame
        if tries >= 250:
            break
    return None


def _last_decoded_time(
    container: av.container.InputContainer, vs: av.video.stream.VideoStream, at: float
) -> float | None:
    """End time (seconds) the video stream reaches after seeking to the keyframe before `at`: the end of its last
    intact packet, once a keyframe there has decoded (None if none does).

    Only keyframes are decoded (the decoder skips the rest): decoding every frame of the tail's group of pictures
    cost ~0.3 s on a 720p clip with keyframes 4 s apart, a tenth of a fast shots pass. Truncation still shows: the
    packets an index promises but the file no longer holds are missing or flagged corrupt.
    """
    tb = vs.time_base or Fraction(1, 90000)
    try:
        container.seek(int(at / tb), stream=vs, backward=True, any_frame=False)
    except av.error.FFmpegError:
        return None
    ctx = vs.codec_context
    ctx.flush_buffers()
    ctx.skip_frame = "NONKEY"
    decoded, last = False, None
    try:
        for packet in container.demux(vs):
            if packet.is_corrupt:
                continue
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in frames:
                if frame.pts is not None:
                    decoded = True
                    step = frame.duration or packet.duration or 0
                    t = float((frame.pts + step) * tb)
                    last = t if last is None else max(last, t)
            if packet.pts is not None and packet.size:
                t = float((packet.pts + (packet.duration or 0)) * tb)
                last = t if last is None else max(last, t)
    finally:
        ctx.skip_frame = "DEFAULT"
    return last if decoded else None
