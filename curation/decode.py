"""The one decode pass of the vision stages: frames at reduced resolution with times from presentation timestamps.

Shot detection, keyframe selection and frame hashes all consume the frames of a single `FrameReader` pass.
Each frame is converted once to a small BGR image for detection; a consumer that wants a sharper copy of the
current frame (a keyframe candidate) asks for it while the frame is current, so only those frames pay for it.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

log = logging.getLogger(__name__)

# A stream where more than this share of packets fails to decode is broken, not merely glitchy.
_MAX_BAD_PACKET_SHARE = 0.25
# Frames held back to put timestamps attached in decode order back into presentation order.
_REORDER_DEPTH = 4
# One swscale thread, said explicitly: PyAV's default (swscale picks a thread count) took 1.6-2x as long for the
# full-frame BGR conversion of 720p on two busy cores, with the same output.
_SWS_THREADS = 1


class DecodeError(Exception):
    """The video stream cannot be decoded (or too much of it is corrupt)."""


@dataclass
class DecodedFrame:
    """One decoded frame: its index in presentation order, its time, and a small BGR image."""

    index: int
    pts: int
    time: float
    image: np.ndarray
    rotation: int
    _source: av.VideoFrame = field(repr=False)
    _reformatter: VideoReformatter = field(repr=False)

    def sharper(self, max_width: int) -> np.ndarray:
        """A BGR copy of this frame at most `max_width` wide (display orientation). Call while it is current."""
        src = self._source
        width, height = _small_size(src.width, src.height, max_width)
        img = self._reformatter.reformat(
            src, width=width, height=height, format="bgr24", interpolation="AREA", threads=_SWS_THREADS
        ).to_ndarray()
        return rotate_for_display(img, self.rotation)

    def thumbnail(self, width: int, height: int) -> np.ndarray:
        """An RGB copy of this frame at exactly `width` x `height` (swscale bicubic, as ffmpeg's `-s` makes it)."""
        return self._reformatter.reformat(
            self._source, width=width, height=height, format="rgb24", interpolation="BICUBIC", threads=_SWS_THREADS
        ).to_ndarray()


def rotate_for_display(img: np.ndarray, rotation: int) -> np.ndarray:
    """Apply the display-matrix rotation (degrees, counter-clockwise as PyAV reports it) to an image."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


class FrameReader:
    """Iterates a video's frames once, each with a small BGR detection image (never upscaled).

    `interpolation` "SCENEDETECT" (the default) makes the image as PySceneDetect's command line does (larger side
    scaled to about `width`, INTER_LINEAR), so its detectors find the same cuts as `scenedetect detect-adaptive`;
    a swscale name ("AREA", "BILINEAR", ...) scales straight to `width` pixels wide instead.

    `fps` is the stream's average rate (an approximation for variable-rate video, used only where a frame rate
    is needed); frame times always come from presentation timestamps.

    With `prefetch` > 0, a thread of its own decodes up to that many frames ahead while the caller works on the
    current one (as scenedetect's command line does).
    """

    def __init__(
        self, path: str | Path, width: int = 256, interpolation: str = "SCENEDETECT", prefetch: int = 0
    ) -> None:
        self.path = str(path)
        self.width = width
        self.interpolation = interpolation
        self.prefetch = prefetch
        try:
            self._container = av.open(self.path, metadata_errors="ignore")
        except (av.error.FFmpegError, OSError) as e:
            raise DecodeError(f"cannot open {self.path}: {getattr(e, 'strerror', None) or e}") from e
        if not self._container.streams.video:
            self._container.close()
            raise DecodeError(f"{self.path} has no video stream")
        self.stream = self._container.streams.video[0]
        # Frame threads: a large share of decode speed on multi-core machines, with no change to the output.
        self.stream.thread_type = "AUTO"
        self.time_base: Fraction = self.stream.time_base or Fraction(1, 90000)
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.fps: float = float(rate) if rate else 25.0
        self.frames_read = 0
        self.bad_packets = 0
        # Long-lived reformatters keep their scaler contexts: a fresh one per frame costs more than decoding.
        self._small = VideoReformatter()
        self._sharp = VideoReformatter()

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[DecodedFrame]:
        # Only decoding runs ahead: the detection images are made (and freed) in the consumer's thread. Made in
        # the decode thread, every 720p BGR array was allocated in one malloc arena and freed in another, which
        # cost ~20x the page faults and 0.4-1.3 s of kernel time per 65 s of video (more wall than it saved).
        timed = self._timed()
        return self._with_images(_ahead(timed, self.prefetch) if self.prefetch > 0 else timed)

    def _with_images(self, timed: Generator[tuple[av.VideoFrame, int]]) -> Iterator[DecodedFrame]:
        size: tuple[int, int] | None = None
        try:
            for index, (frame, pts) in enumerate(timed):
                if size is None:
                    size = self.detection_size(frame.width, frame.height)
                yield DecodedFrame(
                    index=index,
                    pts=pts,
                    time=float(pts * self.time_base),
                    image=self._detection_image(frame, size),
                    rotation=int(frame.rotation or 0) % 360,
                    _source=frame,
                    _reformatter=self._sharp,
                )
        finally:
            timed.close()  # stops a decode-ahead thread before the container can be closed

    def _timed(self) -> Generator[tuple[av.VideoFrame, int]]:
        """Decoded frames in presentation order, each with its presentation timestamp."""
        packets = 0
        last_pts: int | None = None
        step = max(1, round(1 / (self.fps * self.time_base)))  # one frame, in time-base units
        # The decoder hands frames over in presentation order, but some containers attach timestamps in decode
        # order: an MPEG-4 AVI with B-frames gives pts 96, 98, 97, 99 to frames that are 96, 97, 98, 99 (dts and
        # ffprobe's best-effort timestamps go 96, 97, 98). Frames wait in a short queue and each leaves with the
        # smallest timestamp that is queued, which puts such a local permutation back in order and changes
        # nothing where timestamps are right. (Pushing every non-increasing pts a frame later, as before, moved
        # every later time of such a file by a frame.)
        waiting: deque[av.VideoFrame] = deque()
        stamps: list[int] = []

        def release() -> tuple[av.VideoFrame, int]:
            nonlocal last_pts
            frame = waiting.popleft()
            pts: int | None = heapq.heappop(stamps) if stamps else None
            # Missing or non-increasing timestamps (broken muxers): one nominal frame after the last.
            if pts is None or (last_pts is not None and pts <= last_pts):
                pts = (last_pts + step) if last_pts is not None else 0
            last_pts = pts
            self.frames_read += 1
            return frame, pts

        try:
            for packet in self._container.demux(self.stream):
                packets += 1
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    # One corrupt packet costs a few frames; the stream as a whole is judged below.
                    self.bad_packets += 1
                    continue
                for frame in frames:
                    stamp = frame.pts if frame.pts is not None else frame.dts
                    if stamp is not None:
                        heapq.heappush(stamps, stamp)
                    waiting.append(frame)
                    if len(waiting) > _REORDER_DEPTH:
                        yield release()
            while waiting:
                yield release()
        except av.error.FFmpegError as e:
            raise DecodeError(f"decoding {self.path} failed after {self.frames_read} frames: {e}") from e
        if self.frames_read == 0:
            raise DecodeError(f"no video frame of {self.path} decodes")
        if packets and self.bad_packets / packets > _MAX_BAD_PACKET_SHARE:
            raise DecodeError(f"{self.bad_packets} of {packets} video packets of {self.path} are corrupt")

    def detection_size(self, width: int, height: int) -> tuple[int, int]:
        """The size of the detection image for frames of `width` x `height`."""
        if self.interpolation != "SCENEDETECT":
            return _small_size(width, height, self.width)
        # PySceneDetect's automatic downscale (`compute_downscale_factor`): by the larger side, to about `width`.
        factor = max(width, height) / self.width
        if factor <= 1.0:
            return width, height
        return max(1, round(width / factor)), max(1, round(height / factor))

    def _detection_image(self, frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
        if self.interpolation != "SCENEDETECT":
            return self._small.reformat(
                frame,
                width=size[0],
                height=size[1],
                format="bgr24",
                interpolation=self.interpolation,
                threads=_SWS_THREADS,
            ).to_ndarray()
        # What scenedetect's detectors see: the full frame in BGR (as OpenCV's FFmpeg backend converts it, an
        # unscaled swscale pass), then cv2.resize with INTER_LINEAR, which samples rather than averages. Frame
        # differences, and so the adaptive detector's ratios, depend on that: an area-averaged image smooths the
        # grain and aliasing that scenedetect's cuts are measured on, and moved or added cuts on real footage.
        # (Converting only the pixels INTER_LINEAR reads, and blending them with OpenCV's fixed-point weights, is
        # bit-exact too, but slower in numpy than swscale's full conversion: under a millisecond at 720p.)
        full = self._small.reformat(frame, format="bgr24", threads=_SWS_THREADS).to_ndarray()
        if size == (full.shape[1], full.shape[0]):
            return full
        return cv2.resize(full, size, interpolation=cv2.INTER_LINEAR)

    def frame_duration(self) -> float:
        """Nominal duration of one frame in seconds (for the end time of the last frame)."""
        return 1.0 / self.fps


_END = object()
_T = TypeVar("_T")


def _ahead(frames: Iterator[_T], depth: int) -> Generator[_T]:
    """`frames`, produced by a thread of its own up to `depth` ahead; its errors are raised here. The thread has
    stopped by the time this generator is closed, so the container can be closed after it."""
    ready: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        """Hand `item` over; False once the consumer has gone."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
            put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            put(e)

    worker = threading.Thread(target=produce, name="decode-ahead", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def _small_size(width: int, height: int, target: int) -> tuple[int, int]:
    if width <= target:
        return width, height
    return target, max(2, round(height * target / width / 2) * 2)


def decode_only(path: str | Path, width: int = 256) -> int:
    """Decode every frame at `width` and do nothing else: the floor cost the vision stages are measured against."""
    with FrameReader(path, width) as reader:
        return sum(1 for _ in reader)
