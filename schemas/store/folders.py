"""Table folders that change in one step: `DS/TABLE` is a symbolic link to a folder of hard links under `.tables/`.

`load_dataset("parquet", data_dir="DS/TABLE")` reads the table folder as it is, so the folder must hold exactly one
revision's shards at every instant. A revision builds each changed table's new folder aside (`.tables/TABLE-N-…`,
the shards it keeps linked in, its new shards moved in), then replaces the link `DS/TABLE` with one to it (a rename:
atomic), and only then the manifest. A writer killed at any point leaves every table folder at the old or the new
revision, never a mix; `reconcile` (run by the next writer) puts each back to what the manifest lists and removes
folders no link points at. A table folder that is still a plain folder (a dataset written before) is moved aside
the first time its table changes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from schemas import TABLES
from schemas.store.atomic import fsync_dir
from schemas.store.history import _place, archive
from schemas.store.manifest import Manifest, Shard, history_file

VIEWS = ".tables"


def new_folder(root: Path, table: str, revision: int) -> Path:
    """An empty folder for the table's shards at `revision`, not yet what `DS/TABLE` shows."""
    folder = root / VIEWS / f"{table}-{revision}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def find(root: Path, shard: Shard) -> Path | None:
    """Where the bytes of a shard are now: its listed path, its history path, or any table folder under `.tables`
    (a shard's name is its content hash, so a file of that name and size is the shard)."""
    name = Path(shard.file).name
    candidates = [root / shard.file, root / history_file(shard.file)]
    views = root / VIEWS
    if views.is_dir():
        candidates += sorted(views.glob(f"{shard.table}-*/{name}"))
    for path in candidates:
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_size == shard.bytes:
                return path
    return None


def fill(folder: Path, root: Path, shards: Iterable[Shard]) -> None:
    """Link (or copy) each shard into `folder` under its own name."""
    for shard in shards:
        src = find(root, shard)
        if src is None:  # missing already: `info --verify` names it
            continue
        dest = folder / Path(shard.file).name
        if not dest.exists():
            _place(src, dest)


def show(root: Path, table: str, folder: Path) -> None:
    """Make `DS/TABLE` show `folder`, in one rename. A plain folder there (an older layout) is moved aside first."""
    link = root / table
    tmp = root / f".{table}.link-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(folder, root), tmp)
    if link.is_dir() and not link.is_symlink():
        os.rename(link, root / VIEWS / f"{table}-old-{uuid.uuid4().hex[:8]}")
    os.replace(tmp, link)


def shown(root: Path, table: str) -> Path | None:
    """The folder `DS/TABLE` links to, or None when it is a plain folder or absent."""
    link = root / table
    if not link.is_symlink():
        return None
    return (root / os.readlink(link)).resolve()


def reconcile(root: Path, manifest: Manifest) -> None:
    """Make every table folder hold exactly the manifest's latest shards of its table (a writer killed between
    showing a new folder and listing it leaves the folder ahead of the manifest), then remove the folders under
    `.tables` that no table shows."""
    views = root / VIEWS
    changed = False
    # Shards a store before the history folder dropped but left in the table folders: linked into the history first
    # (the next commit lists them there; readers find them there meanwhile), since the folders lose them below.
    archive(root, [s for s in manifest.shards if s.dropped is not None and not s.in_history])
    for table in TABLES:
        live = manifest.shards_of(table)
        want = {Path(s.file).name for s in live}
        link = root / table
        if not link.exists() and not live:
            continue
        try:
            have = {p.name for p in link.iterdir() if p.suffix == ".parquet"} if link.is_dir() else None
        except OSError:
            have = None
        if have == want:
            continue
        if not link.is_symlink() and have is not None:
            continue  # a plain folder: the writer's leftovers clean-up handles extra files there, as before
        folder = new_folder(root, table, manifest.revision)
        fill(folder, root, live)
        fsync_dir(folder)
        show(root, table, folder)
        changed = True
    if changed:
        fsync_dir(root)
    if views.is_dir():
        keep = {shown(root, t) for t in TABLES}
        for folder in views.iterdir():
            if folder.resolve() not in keep:
                shutil.rmtree(folder, ignore_errors=True)
