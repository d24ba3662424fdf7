"""Where a command may write: never inside a dataset (its folder holds shards, the manifest and the card only)."""

from __future__ import annotations

from pathlib import Path

from flows.errors import UserError
from schemas.store.manifest import MANIFEST_NAME


def refuse_inside_dataset(out: Path, flag: str, dataset: Path | None = None) -> None:
    """Raise UserError when `out` (links followed) is `dataset`, lies inside it, or inside any folder that holds a
    dataset manifest: a run's checkpoints or a model card written there would mix with the data or replace its card."""
    target = out.resolve()
    root = dataset.resolve() if dataset is not None else None
    for folder in (target, *target.parents):
        if folder == root or (folder / MANIFEST_NAME).is_file():
            raise UserError(f"{flag} {out} is inside the dataset {folder}; write it somewhere else")
