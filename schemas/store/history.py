"""Moving shards that left the latest view out of the table folders, into `.history/TABLE/`, without a crash window.

A table folder holds exactly the latest view's shards, so `load_dataset("parquet", data_dir="DS/TABLE")` on the
folders as they are reads one row per key. Older revisions read their dropped shards where the manifest says they
are now. The move is three steps, each safe to be killed after:

1. `archive`: hard-link (or, where links are refused, copy and fsync) each shard into the history folder, under a
   temporary name renamed into place, and fsync the folders. The manifest still names the table folder: the new file
   is an unlisted leftover.
2. The caller lists the history paths in a new manifest (replaced atomically, last). Both files now exist; the one in
   the table folder is unlisted.
3. `release`: unlink what the manifest no longer lists.

Whatever a killed writer left is not listed, and `leftovers` finds it for the next writer to remove; a listed file
is never among them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from schemas import TABLES
from schemas.store.atomic import fsync_dir, sha256_file
from schemas.store.manifest import HISTORY, Manifest, Shard, history_file

log = logging.getLogger(__name__)


def archive(root: Path, shards: Iterable[Shard]) -> dict[str, str]:
    """Place a copy of each shard (by hard link where the file system allows) at its history path and make it
    durable; returns {current file: history file}. Nothing is removed, and the manifest is not touched."""
    moved: dict[str, str] = {}
    for shard in shards:
        if shard.in_history or shard.file in moved:
            continue
        src, rel = root / shard.file, history_file(shard.file)
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not _holds(dest, src, shard):
            if not src.is_file():  # already missing: left where the manifest says, for `info --verify` to name
                continue
            _place(src, dest)
        moved[shard.file] = rel
    if moved:
        for folder in {(root / rel).parent for rel in moved.values()}:
            fsync_dir(folder)
        fsync_dir(root / HISTORY)
        fsync_dir(root)
    return moved


def _holds(dest: Path, src: Path, shard: Shard) -> bool:
    """Whether `dest` already is the shard: a link left by a killed writer, or the same bytes dropped before."""
    if not dest.is_file():
        return False
    if src.exists() and os.path.samefile(src, dest):
        return True
    return dest.stat().st_size == shard.bytes and sha256_file(dest) == shard.sha256


def _place(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src, tmp)
        except OSError:  # a file system without hard links: a full, fsynced copy
            shutil.copyfile(src, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def release(root: Path, files: Iterable[str], manifest: Manifest) -> None:
    """Unlink the old paths of archived shards, once `manifest` (already saved) names their history paths. A path
    the manifest still lists is kept; one that cannot be removed stays as an unlisted leftover for the next writer,
    since the revision is published either way."""
    listed = {s.file for s in manifest.shards}
    folders = set()
    for rel in files:
        if rel in listed:
            continue
        try:
            os.unlink(root / rel)
        except FileNotFoundError:
            continue
        except OSError as e:
            log.warning("could not remove %s from %s (%s); the next write removes it", rel, root, e.strerror or e)
            continue
        folders.add((root / rel).parent)
    for folder in folders:
        with contextlib.suppress(OSError):
            fsync_dir(folder)


def leftovers(root: Path, manifest: Manifest) -> list[Path]:
    """Files in the table and history folders that `manifest` does not list: shards a killed writer moved into place
    or archived but never listed (or listed elsewhere since), and its temporary files. Never a listed file."""
    listed = {s.file for s in manifest.shards}
    # The history copy of a shard listed as dropped but still at its table path (archived ahead of the commit that
    # lists it there) is kept too.
    listed |= {history_file(s.file) for s in manifest.shards if s.dropped is not None}
    found = []
    for table in TABLES:
        for folder, in_history in ((root / table, False), (root / HISTORY / table, True)):
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                rel = f.relative_to(root).as_posix()
                # Only what a writer puts there: shards, and in the history folder their temporary links too.
                ours = f.suffix == ".parquet" or (in_history and f.name.startswith("."))
                if ours and rel not in listed and (f.is_file() or f.is_symlink()):
                    found.append(f)
    return sorted(found)
