"""What every export format shares: the splits, reading a query's rows, writing Parquet and JSON, where clips are."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.errors import UserError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SPLITS = ("train", "val", "test")

# The video path of each pool row: sft and rl carry it; pairs take the video's path.
VIDEO_PATHS = """(SELECT DISTINCT ON (video_id) video_id, path AS video_path FROM videos)"""
PAIRS_WITH_VIDEO = f"""SELECT p.*, v.video_path FROM pairs p LEFT JOIN {VIDEO_PATHS} v USING (video_id)
                      WHERE p.split = ? ORDER BY p.pair_id"""


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """A query's rows as dicts."""
    return con.sql(sql, params=params).to_arrow_table().to_pylist()


def pool_rows(con: duckdb.DuckDBPyConnection, table: str, split: str) -> list[dict[str, Any]]:
    """One split of a pool (sft, rl or pairs), each row with its `video_path`, in id order."""
    if table == "pairs":
        return rows(con, PAIRS_WITH_VIDEO, [split])
    return rows(con, f"SELECT * FROM {table} WHERE split = ? ORDER BY sample_id", [split])


def write_json(path: Path, items: list[Any] | dict[str, Any], lines: bool = False) -> int:
    """A JSON file of `items` (or JSON Lines, one item a line); the number of items."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if lines:
        path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
    else:
        path.write_text(json.dumps(items, indent=1, ensure_ascii=False))
    return len(items)


def write_parquet(path: Path, items: list[dict[str, Any]], schema: pa.Schema | None = None) -> int:
    """A Parquet file of `items` (typed by `schema`: a split whose lists are all empty keeps their item type, so
    splits concatenate); the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(items, schema=schema), path, compression="zstd")
    return len(items)


def with_video_tag(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Chat messages as plain {role, content} dicts, the first user turn starting with the `<video>` placeholder."""
    out = [{"role": m["role"], "content": m["content"]} for m in messages]
    for m in out:
        if m["role"] == "user":
            m["content"] = "<video>\n" + m["content"]
            break
    return out


@dataclass
class Media:
    """Where exported rows say each clip is: absolute (the default), relative to `root`, or copied into
    `out/media/` and named relative to `out` (`copy`). A clip that is not where curation found it is an error."""

    out: Path
    root: Path | None = None
    copy: bool = False
    _copied: dict[str, str] = field(default_factory=dict)
    _sources: dict[str, Path] = field(default_factory=dict)

    def path(self, video_path: str | None, video_id: str, item: str) -> str:
        """The path to write for `item`'s clip."""
        src = Path(video_path or "")
        if not video_path or not src.is_file():
            raise UserError(f"clip {video_path or '(none)'} of {item} is missing: it moved or was deleted since "
                            "curation; put it back, or re-curate")  # fmt: skip
        src = src.resolve()
        if self.copy:
            written = self._copy(src, video_id)
        elif self.root is None:
            written = str(src)
        elif src.is_relative_to(self.root.resolve()):
            written = str(src.relative_to(self.root.resolve()))
        else:
            raise UserError(f"clip {src} of {item} is not under --media-root {self.root}")
        self._sources[written] = src
        return written

    def source(self, written: str) -> Path:
        """The clip file behind a path that `path` wrote."""
        return self._sources[written]

    def _copy(self, src: Path, video_id: str) -> str:
        if str(src) not in self._copied:
            rel = f"media/{video_id[:16]}{src.suffix.lower()}"
            dest = self.out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dest)
            except OSError:
                shutil.copyfile(src, dest)
            self._copied[str(src)] = rel
        return self._copied[str(src)]


@dataclass
class Options:
    """What the export command passes to every format."""

    media: Media
    with_video: bool = False
    shard_bytes: int = 1 << 30
    reward_root: Path = field(default_factory=lambda: Path(__file__).resolve().parents[2])


def write_reward_file(path: Path, root: Path, doc: str, body: str) -> None:
    """A small Python file that puts vidcot's packages (under `root`) on `sys.path` and then runs `body`."""
    path.write_text(f'"""{doc}"""\n\nimport sys\n\nsys.path.insert(0, {str(root)!r})\n\n{body}\n')
