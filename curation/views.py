"""Build one `VideoView` per video from a dataset's per-video tables, without reading image bytes."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import schemas
from curation.registry import STAGES
from schemas import VideoView
from schemas.keys import KEYS
from schemas.store import Dataset


def view_tables() -> list[str]:
    """The tables a view holds: everything the per-video stages write, besides the videos themselves."""
    return [t for s in STAGES if s.per_video for t in s.writes if t != "videos"]


def _order(r: Any) -> tuple[float, int, str]:
    """Rows of a view in time order: by start (shots, segments, words) or time (frames, evidence), then index."""
    start = getattr(r, "start", None)
    return (start if start is not None else r.time, getattr(r, "index", 0), getattr(r, "backend", ""))


def _read(ds: Dataset, table: str) -> pa.Table:
    if table != "frames":
        return ds.read(table)
    columns = [n for n in schemas.schema_for("frames").names if n != "jpeg"]
    data = ds.read("frames", columns=columns)
    # FrameRecord.jpeg is required; views carry an empty placeholder (bytes stay in the frames table).
    return data.append_column("jpeg", pa.array([b""] * data.num_rows, pa.binary()))


def load_views(root: Path | str, revision: int | None = None, include_rejected: bool = False) -> dict[str, VideoView]:
    """{video_id: VideoView} of a dataset (latest revision by default), rows in time order.

    Frames come without their JPEG bytes. Videos whose probe rejected them are left out unless
    `include_rejected`. A row written twice (a stage re-run) appears once: the last written wins.
    """
    ds = Dataset(root, revision)
    views: dict[str, VideoView] = {}
    for v in schemas.from_arrow("videos", ds.read("videos")):
        if v.status == "ok" or include_rejected:
            views[v.video_id] = VideoView(video=v)
    wanted = pa.array(list(views), pa.string())
    for table in view_tables():
        key = KEYS[table]
        data = _read(ds, table)
        data = data.filter(pc.is_in(data["video_id"], value_set=wanted))
        rows: dict[str, dict[tuple, Any]] = defaultdict(dict)
        for r in schemas.from_arrow(table, data):
            rows[r.video_id][tuple(getattr(r, k) for k in key)] = r
        for video_id, by_key in rows.items():
            setattr(views[video_id], table, sorted(by_key.values(), key=_order))
    return views
