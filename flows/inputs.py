"""Turn the INPUT arguments of `vidcot curate` into a list of files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from flows.errors import UserError

LIST_SUFFIXES = (".txt", ".lst", ".list")


def expand_inputs(inputs: list[Path], extensions: tuple[str, ...]) -> list[Path]:
    """Files as given, folders searched recursively by extension, `.txt` files read as one path per line.

    A file given by name is kept whatever its extension (probe rejects what is not a video); duplicates of the same
    path are dropped; order is stable (sorted within each folder). In a folder, an entry with a video extension that
    cannot be opened as a file (a FIFO, a socket, a broken link or a link loop, a name too long, no permission) is
    kept too, and so is a sub-folder that cannot be listed: probe rejects each with its reason, none is skipped.
    """
    seen: set[str] = set()
    out: list[Path] = []

    def add(p: Path) -> None:
        key = _identity(p)
        if key not in seen:
            seen.add(key)
            out.append(p)

    exts = tuple(e.lower() for e in extensions)
    for item in inputs:
        if _is_dir(item):
            for p in _walk(item, exts):
                add(p)
        elif _is_file(item) and item.suffix.lower() in LIST_SUFFIXES and (listed := _read_list(item)) is not None:
            for p in listed:
                add(p)
        elif _exists(item):
            add(item)
        else:
            raise UserError(f"input {item} does not exist")
    return out


def _identity(p: Path) -> str:
    """What makes two inputs the same file: the resolved path, or the absolute one when it cannot be resolved."""
    try:
        return str(p.resolve())
    except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13), a name too long
        return os.path.abspath(p)


def _is_dir(p: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(p).st_mode)
    except OSError:
        return False


def _is_file(p: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(p).st_mode)
    except OSError:
        return False


def _exists(p: Path) -> bool:
    """Whether anything is at `p`, a dangling or looping link included (probe says why it cannot be read)."""
    try:
        os.lstat(p)
    except FileNotFoundError:
        return False
    except OSError:  # a name too long, no permission on a folder on the way: something is named there
        return True
    return True


def _walk(folder: Path, exts: tuple[str, ...]) -> Iterator[Path]:
    """Entries with a video extension under `folder`, sorted per folder, skipping hidden folders; what is not a
    folder is yielded whatever it is, and a folder that cannot be listed is yielded itself."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        yield folder
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            if not entry.name.startswith(".") and not _loops(path):
                yield from _walk(path, exts)
        elif path.suffix.lower() in exts and not entry.name.startswith("."):
            yield path


def _loops(path: Path) -> bool:
    """A linked folder that leads back to one of its parents would be walked for ever."""
    try:
        if not path.is_symlink():
            return False
        target = path.resolve()
        return path.parent.resolve().is_relative_to(target)
    except OSError:  # a name too long: not a link we can follow; listing it fails and names it
        return False
    except RuntimeError:  # a link loop (before Python 3.13)
        return True


def _read_list(item: Path) -> list[Path] | None:
    """Paths listed one per line (relative to the list's folder), or None if no line names an existing path.

    With no existing path at all, the file is not a list but an input (probe will reject it if it is not a video).
    """
    lines = []
    for n, raw in enumerate(item.read_text(errors="replace").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append((n, line, Path(line) if Path(line).is_absolute() else item.parent / line))
    if not any(_exists(p) for _, _, p in lines):
        return None
    for n, line, p in lines:
        if not _exists(p):
            raise UserError(f"{item}:{n}: {line} does not exist")
    return [p for _, _, p in lines]
