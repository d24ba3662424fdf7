"""Keyframes as image inputs for vision-language policies (Qwen2.5-VL-, SmolVLM-, LLaVA-style models by path).

Text-only models see the text view of the video in the prompt; a vision-language model also gets up to N keyframes
of the row's video from the `frames` table, as the ``images`` column TRL's trainers and processors understand. The
JPEG bytes are read per video with DuckDB (never the whole `frames` table) and decoded once per video.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

from curation.tasks.base import spread

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
    """Keyframes of one dataset as PIL images, per video, cached for the life of the object."""

    def __init__(self, data: Path | str, max_images: int) -> None:
        from curation.store.query import connect

        self.max_images = max_images
        self._con = connect(data)
        self._cache: dict[str, list[tuple[str, Any]]] = {}

    def _video(self, video_id: str) -> list[tuple[str, Any]]:
        if video_id not in self._cache:
            from PIL import Image

            rows = self._con.execute(
                "SELECT frame_id, jpeg FROM frames WHERE video_id = ? ORDER BY time", [video_id]
            ).fetchall()
            frames = []
            for frame_id, jpeg in rows:
                img = Image.open(io.BytesIO(jpeg))
                img.load()
                frames.append((frame_id, img.convert("RGB")))
            self._cache[video_id] = frames
        return self._cache[video_id]

    def for_row(self, video_id: str, keyframe_ids: list[str] | None = None) -> list[Any]:
        """Up to ``max_images`` keyframes of the video in time order: the row's own keyframes when it names them
        (and they exist), else keyframes spread over the whole video."""
        frames = self._video(video_id)
        if keyframe_ids:
            wanted = set(keyframe_ids)
            named = [f for f in frames if f[0] in wanted]
            frames = named or frames
        return [img for _, img in spread(frames, self.max_images)]
