"""Turn the INPUT arguments of `vidcot curate` into a list of files."""

from __future__ import annotations

from pathlib import Path

from flows.errors import UserError

LIST_SUFFIXES = (".txt", ".lst", ".list")


def expand_inputs(inputs: list[Path], extensions: tuple[str, ...]) -> list[Path]:
    """Files as given, folders searched recursively by extension, `.txt` files read as one path per line.

    A file given by name is kept whatever its extension (probe rejects what is not a video); duplicates of the same
    path are dropped; order is stable (sorted within each folder).
    """
    seen: set[Path] = set()
    out: list[Path] = []

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)

    exts = tuple(e.lower() for e in extensions)
    for item in inputs:
        if item.is_dir():
            for p in sorted(item.rglob("*")):
                if p.is_file() and p.suffix.lower() in exts and not _hidden(p.relative_to(item)):
                    add(p)
        elif item.is_file() and item.suffix.lower() in LIST_SUFFIXES and (listed := _read_list(item)) is not None:
            for p in listed:
                add(p)
        elif item.exists():
            add(item)
        else:
            raise UserError(f"input {item} does not exist")
    return out


def _read_list(item: Path) -> list[Path] | None:
    """Paths listed one per line (relative to the list's folder), or None if no line names an existing path.

    With no existing path at all, the file is not a list but an input (probe will reject it if it is not a video).
    """
    lines = []
    for n, raw in enumerate(item.read_text(errors="replace").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append((n, line, Path(line) if Path(line).is_absolute() else item.parent / line))
    if not any(p.exists() for _, _, p in lines):
        return None
    for n, line, p in lines:
        if not p.exists():
            raise UserError(f"{item}:{n}: {line} does not exist")
    return [p for _, _, p in lines]


def _hidden(rel: Path) -> bool:
    """Files under hidden folders (a dataset's `.cache`, `.git`) are not inputs."""
    return any(part.startswith(".") for part in rel.parts)
