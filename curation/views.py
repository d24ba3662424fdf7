"""Build one `VideoView` per video from a dataset's perception tables, without reading image bytes."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import schemas
from schemas import VideoView
from schemas.store import Dataset

# (table, the key that identifies one row, how rows are ordered inside a view)
_PARTS: tuple[tuple[str, str, Any], ...] = (
    ("shots", "shot_id", lambda r: (r.start, r.index)),
    ("segments", "segment_id", lambda r: (r.start, r.index)),
    ("words", "", lambda r: (r.start, r.index)),
    ("frames", "frame_id", lambda r: r.time),
    ("evidence", "", lambda r: (r.time, r.backend)),
)


def _read(ds: Dataset, table: str) -> pa.Table:
    if table != "frames":
        return ds.read(table)
    columns = [n for n in schemas.schema_for("frames").names if n != "jpeg"]
    data = ds.read("frames", columns=columns)
    # FrameRecord.jpeg is required; views carry an empty placeholder (bytes stay in the frames table).
    return data.append_column("jpeg", pa.array([b""] * data.num_rows, pa.binary()))


def _key(table: str, key: str, r: Any) -> tuple:
    if key:
        return (getattr(r, key),)
    if table == "words":
        return (r.segment_id, r.index)
    return (r.frame_id, r.backend)


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
    for table, key, order in _PARTS:
        data = _read(ds, table)
        data = data.filter(pc.is_in(data["video_id"], value_set=wanted))
        rows: dict[str, dict[tuple, Any]] = defaultdict(dict)
        for r in schemas.from_arrow(table, data):
            rows[r.video_id][_key(table, key, r)] = r
        for video_id, by_key in rows.items():
            setattr(views[video_id], table, sorted(by_key.values(), key=order))
    return views
