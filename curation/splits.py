"""Train/val/test splits by video: every row of one video lands in the same split.

A video's split comes from a hash of its `video_id` (and a seed), so it never depends on which other videos are in
the run, and re-running adds new videos without moving old ones. The one exception is a tiny collection: with 3 or
more videos and no video hashed into `test` (or `val`, when its fraction is above 0), the train video whose hash lies
closest to that split's range is moved there, so an evaluation split is never empty. Adding videos later can
therefore move such a video back; splits of collections of 3–10 videos are best treated as fixed once written.
"""

from __future__ import annotations

import hashlib

from pydantic import model_validator

from curation.stage import StageConfig

MIN_VIDEOS_FOR_HELD_OUT = 3


class SplitConfig(StageConfig):
    """Fractions of videos per split (must sum to 1) and the seed of the hash."""

    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    seed: int = 0

    @model_validator(mode="after")
    def _fractions(self) -> SplitConfig:
        for name in ("train", "val", "test"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if abs(self.train + self.val + self.test - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1 (got {self.train + self.val + self.test:g})")
        return self


def video_unit(video_id: str, seed: int = 0) -> float:
    """A number in [0, 1) fixed by the video id and seed: where the video falls on the split line."""
    digest = hashlib.sha256(f"{seed}:{video_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(video_id: str, config: SplitConfig | None = None) -> str:
    """The split one video gets from its hash alone (no small-collection adjustment)."""
    cfg = config or SplitConfig()
    u = video_unit(video_id, cfg.seed)
    if u < cfg.train:
        return "train"
    if u < cfg.train + cfg.val:
        return "val"
    return "test"


def assign_splits(video_ids: list[str], config: SplitConfig | None = None) -> dict[str, str]:
    """{video_id: split} for a collection, making sure test (and val, if wanted) is non-empty from 3 videos on."""
    cfg = config or SplitConfig()
    ids = sorted(set(video_ids))
    splits = {v: split_of(v, cfg) for v in ids}
    if len(ids) < MIN_VIDEOS_FOR_HELD_OUT:
        return splits
    # Test first: with very few videos a test set matters more than a val set.
    for name, fraction in (("test", cfg.test), ("val", cfg.val)):
        if fraction <= 0 or name in splits.values():
            continue
        train = [v for v in ids if splits[v] == "train"]
        if len(train) <= 1:
            continue
        # The train video hashed highest is nearest to the val/test range above train.
        mover = max(train, key=lambda v: video_unit(v, cfg.seed))
        splits[mover] = name
    return splits
