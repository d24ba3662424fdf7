"""Primary keys and lineage of the tables: what identifies a row, and which tables a table's rows are derived from.

The store uses these to supersede rows: a revision that writes a row whose key exists replaces the old row, and a
revision that replaces or removes a row of a video drops that video's rows in every table derived from it unless the
same revision rewrites or confirms them (a re-run never leaves a row pointing at a superseded parent).
"""

from __future__ import annotations

from dataclasses import dataclass

# The columns whose values identify one row of each table. Every table also carries `video_id`, the unit of lineage.
KEYS: dict[str, tuple[str, ...]] = {
    "videos": ("video_id",),
    "shots": ("shot_id",),
    "segments": ("segment_id",),
    "words": ("segment_id", "index"),
    "frames": ("frame_id",),
    "evidence": ("frame_id",),
    "tasks": ("task_id",),
    "cot": ("cot_id",),
    "sft": ("sample_id",),
    "rl": ("sample_id",),
    "pairs": ("pair_id",),
    "negatives": ("negative_id",),
    # A drop is one stage's verdict with one reason on one thing (a file, a video, or an item of it such as a task).
    "rejects": ("stage", "reason", "video_id", "path", "item_id", "detail"),
}

# The tables each table's rows are computed from (for the same video). `rejects` is a log, derived from nothing.
PARENTS: dict[str, tuple[str, ...]] = {
    "videos": (),
    "shots": ("videos",),
    "segments": ("videos",),
    "words": ("segments",),
    "frames": ("shots",),
    "evidence": ("frames",),
    "tasks": ("shots", "segments", "words", "evidence"),
    "cot": ("tasks",),
    "negatives": ("tasks", "cot"),
    "sft": ("cot",),
    "rl": ("tasks", "negatives"),
    "pairs": ("cot", "negatives"),
    "rejects": (),
}


@dataclass(frozen=True)
class Reference:
    """`table.column` holds a key of `parent.parent_column` (for the same video)."""

    table: str
    column: str
    parent: str
    parent_column: str


# Row-level links that `info --verify` and the tests check: a child row whose parent row is not in the same view is
# an orphan. Links across videos (distractors, keyframes of other videos) are not listed: lineage is per video.
REFERENCES: tuple[Reference, ...] = (
    Reference("shots", "video_id", "videos", "video_id"),
    Reference("segments", "video_id", "videos", "video_id"),
    Reference("words", "segment_id", "segments", "segment_id"),
    Reference("frames", "shot_id", "shots", "shot_id"),
    Reference("evidence", "frame_id", "frames", "frame_id"),
    Reference("tasks", "video_id", "videos", "video_id"),
    Reference("cot", "task_id", "tasks", "task_id"),
    Reference("sft", "task_id", "tasks", "task_id"),
    Reference("rl", "task_id", "tasks", "task_id"),
    Reference("pairs", "task_id", "tasks", "task_id"),
    Reference("negatives", "video_id", "videos", "video_id"),
)


def key_of(table: str) -> tuple[str, ...]:
    """The primary key columns of a table, with a clear error for an unknown name."""
    try:
        return KEYS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; tables are: {', '.join(KEYS)}") from None


def children_of(table: str) -> tuple[str, ...]:
    """Tables computed directly from `table`."""
    return tuple(t for t, parents in PARENTS.items() if table in parents)


def lineage_order() -> tuple[str, ...]:
    """Every table after all of its parents (a topological order of PARENTS, ties in declaration order)."""
    done: list[str] = []
    pending = list(PARENTS)
    while pending:
        ready = [t for t in pending if all(p in done for p in PARENTS[t])]
        if not ready:
            raise ValueError(f"PARENTS has a cycle among {', '.join(pending)}")
        done += ready
        pending = [t for t in pending if t not in ready]
    return tuple(done)
