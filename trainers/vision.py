"""Keyframes as image inputs for vision-language policies (Qwen2.5-VL-, SmolVLM-, LLaVA-style models by path).

Text-only models see the text view of the video in the prompt; a vision-language model also gets up to N keyframes
of the row's video from the `frames` table, as the ``images`` column TRL's trainers and processors understand. The
JPEG bytes are read per video with DuckDB (never the whole `frames` table) and decoded once per video.
"""

from __future__ import annotations

import io
import json
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from trainers.textview import spread

log = logging.getLogger(__name__)


def is_vision_model(path: Path) -> bool:
    """True when the model directory's config has a vision tower (``vision_config``)."""
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return "vision_config" in json.loads(config.read_text())
    except (OSError, json.JSONDecodeError):
        return False


class KeyframeImages:
    """Keyframes of one dataset as PIL images. JPEG bytes of the most recent videos are kept (rows of one video
    tend to come together); only the frames a row uses are decoded."""

    def __init__(self, data: Path | str, max_images: int, videos_cached: int = 8) -> None:
        from schemas.store.query import connect

        self.max_images = max_images
        self._con = connect(data)
        self._videos_cached = videos_cached
        self._cache: OrderedDict[str, list[tuple[str, bytes]]] = OrderedDict()

    def _video(self, video_id: str) -> list[tuple[str, bytes]]:
        if video_id in self._cache:
            self._cache.move_to_end(video_id)
        else:
            rows = self._con.execute(
                "SELECT frame_id, jpeg FROM frames WHERE video_id = ? ORDER BY time", [video_id]
            ).fetchall()
            self._cache[video_id] = [(frame_id, bytes(jpeg)) for frame_id, jpeg in rows]
            while len(self._cache) > self._videos_cached:
                self._cache.popitem(last=False)
        return self._cache[video_id]

    def for_row(self, video_id: str, keyframe_ids: list[str] | None = None) -> list[Any]:
        """Up to ``max_images`` keyframes of the video in time order: the row's own keyframes when it names them
        (and they exist), else keyframes spread over the whole video."""
        from PIL import Image

        frames = self._video(video_id)
        if keyframe_ids:
            wanted = set(keyframe_ids)
            named = [f for f in frames if f[0] in wanted]
            frames = named or frames
        images = []
        for _, jpeg in spread(frames, self.max_images):
            img = Image.open(io.BytesIO(jpeg))
            images.append(img.convert("RGB"))
        return images

    def close(self) -> None:
        self._con.close()
