"""`DIR/{sft,rl,pairs}/{split}-NNNNNN.tar`: WebDataset shards (each at most --shard-mb, a sample never split),
samples in id order keyed by their id: `KEY.json` (the pool row: messages or prompt, answers, video path),
`KEY.kfNN.jpg` (the row's keyframes, in order) and, with --with-video, `KEY.mp4` (the clip; its own extension).
Read with `webdataset.WebDataset("DIR/sft/train-{000000..000009}.tar")`."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.exports.common import SPLITS, Options, pool_rows

if TYPE_CHECKING:
    import duckdb

ID = {"sft": "sample_id", "rl": "sample_id", "pairs": "pair_id"}
KEYFRAMES = """SELECT s.sample_id, f.jpeg
FROM (SELECT sample_id, unnest(keyframe_ids) AS frame_id, generate_subscripts(keyframe_ids, 1) AS i
      FROM {table} WHERE split = ?) s
JOIN (SELECT DISTINCT ON (frame_id) frame_id, jpeg FROM frames) f USING (frame_id)
ORDER BY s.sample_id, s.i"""


def _key(item_id: str) -> str:
    """A WebDataset key: the part of a member name before its first dot, so no dots in it."""
    return item_id.replace(".", "_")


END = 1024  # the end-of-archive blocks
RECORD = tarfile.RECORDSIZE  # a tar file is padded to a multiple of this


def _padded(size: int) -> int:
    return -(-size // RECORD) * RECORD


class ShardWriter:
    """Tar shards `{prefix}-NNNNNN.tar` of at most `cap` bytes (a larger sample gets a shard of its own)."""

    def __init__(self, prefix: Path, cap: int) -> None:
        self.prefix, self.cap = prefix, cap
        self.shards: list[Path] = []
        self.samples: list[int] = []  # per shard
        self._tar: tarfile.TarFile | None = None
        self._size = 0

    def add(self, members: list[tuple[str, bytes]]) -> None:
        size = sum(512 + (len(data) + 511) // 512 * 512 for _, data in members)
        if self._tar is None or (self._size > END and _padded(self._size + size) > self.cap):
            self._open()
        assert self._tar is not None
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            self._tar.addfile(info, io.BytesIO(data))
        self._size += size
        self.samples[-1] += 1

    def _open(self) -> None:
        self.close()
        path = Path(f"{self.prefix}-{len(self.shards):06d}.tar")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tar = tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115 (closed by close())
        self.shards.append(path)
        self.samples.append(0)
        self._size = END

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None


def _row_json(r: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in r.items() if k != "provenance"}, ensure_ascii=False, default=str).encode()


def write(con: duckdb.DuckDBPyConnection, out: Path, options: Options) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, id_col in ID.items():
        for split in SPLITS:
            items = pool_rows(con, table, split)
            if not items:
                continue
            frames: dict[str, list[bytes]] = {}
            if table != "pairs":
                for sample_id, jpeg in con.execute(KEYFRAMES.format(table=table), [split]).fetchall():
                    frames.setdefault(sample_id, []).append(jpeg)
            writer = ShardWriter(out / table / split, options.shard_bytes)
            try:
                for r in items:
                    key = _key(r[id_col])
                    r["video_path"] = options.media.path(r["video_path"], r["video_id"], r[id_col])
                    members = [(f"{key}.json", _row_json(r))]
                    members += [(f"{key}.kf{i:02d}.jpg", jpeg) for i, jpeg in enumerate(frames.get(r[id_col], []))]
                    if options.with_video:
                        clip = options.media.source(r["video_path"])
                        members.append((f"{key}{clip.suffix.lower()}", clip.read_bytes()))
                    writer.add(members)
            finally:
                writer.close()
            for shard, n in zip(writer.shards, writer.samples, strict=True):
                counts[str(shard.relative_to(out))] = n
    return counts
