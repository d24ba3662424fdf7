"""Where an export lands: a target folder checked before anything is written, and a staging folder beside it that
replaces the target whole once every file is written (a failed export leaves nothing behind)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from flows.errors import UserError


def check_target(out: Path, dataset: Path, overwrite: bool) -> Path:
    """The resolved export folder, or a UserError saying why `out` cannot be one. Nothing is created here."""
    target = out.resolve()
    root = dataset.resolve()
    if target == root or target.is_relative_to(root):
        raise UserError(f"--out {out} is inside the dataset {dataset}; export to a folder outside it")
    if root.is_relative_to(target):
        raise UserError(f"--out {out} holds the dataset {dataset}; export to a folder outside it")
    if Path.cwd().resolve().is_relative_to(target):
        raise UserError(f"--out {out} holds the current directory; export to a folder of its own")
    if target.exists() and not target.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    existing = next(p for p in target.parents if p.exists())
    if not existing.is_dir():
        raise UserError(f"--out {out} cannot be made: {existing} is a file, not a folder")
    if target.is_dir() and not overwrite and any(target.iterdir()):
        raise UserError(f"--out {out} exists and is not empty; choose a new folder, or --overwrite to replace it")
    return target


@contextlib.contextmanager
def staging(target: Path, shown: Path) -> Iterator[Path]:
    """A fresh folder beside `target` to write into; on success it replaces `target` whole, on any failure it
    is removed and `target` is untouched."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.export-{secrets.token_hex(4)}"
        tmp.mkdir()
    except OSError as e:
        raise UserError(f"cannot write to {shown}: {e.strerror or e}") from None
    try:
        yield tmp
        _swap_in(tmp, target)
    except OSError as e:
        raise UserError(f"cannot write to {shown}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(new: Path, target: Path) -> None:
    """Rename `new` to `target`; an existing `target` is moved aside first and removed once `new` is in place."""
    if not target.exists():
        os.rename(new, target)
        return
    old = target.parent / f".{target.name}.replaced-{secrets.token_hex(4)}"
    os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)  # put the previous export back
        raise
    shutil.rmtree(old, ignore_errors=True)
