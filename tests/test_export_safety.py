"""`vidcot export` cannot damage a dataset or leave a mixed folder: one-line errors for targets it cannot use, never
a target inside the dataset, and an export that lands whole (fresh folder, then a rename) or not at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.tiny_dataset import snapshot, tiny_dataset

ROOT = Path(__file__).resolve().parents[1]
VIDCOT = Path(sys.executable).with_name("vidcot")


def vidcot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIDCOT), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300)


def refused(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("vidcot export: error: ") and needle in r.stderr, r.stderr
    assert r.stdout == ""


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory.mktemp("export") / "ds", videos=2)


def leftovers(folder: Path) -> list[str]:
    """Temporary folders an export left beside its target."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_target_inside_the_dataset_is_refused(ds: Path, tmp_path: Path) -> None:
    before = snapshot(ds)
    link = tmp_path / "link"
    link.symlink_to(ds / "sft")
    for target in (ds, ds / "sft", ds / "new" / "deeper", link, ds / ".." / ds.name):
        refused(vidcot("export", ds, "--format", "hf", "--out", target, "--overwrite"), "inside the dataset")
    # A folder that holds the dataset would, with --overwrite, delete it.
    refused(vidcot("export", ds, "--format", "hf", "--out", ds.parent, "--overwrite"), "holds the dataset")
    assert snapshot(ds) == before


def test_unusable_targets_are_one_line_errors(ds: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("a file")
    refused(vidcot("export", ds, "--format", "hf", "--out", plain), "is a file, not a folder")
    refused(vidcot("export", ds, "--format", "trl", "--out", plain / "sub"), f"{plain} is a file")
    for unwritable in ("/sys/vidcot-export", "/sys/kernel/vidcot-export", "/proc/vidcot-export"):
        refused(vidcot("export", ds, "--format", "video-r1", "--out", unwritable), f"cannot write to {unwritable}")
    assert plain.read_text() == "a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway; /sys covers it above")
def test_a_read_only_folder_is_a_one_line_error(ds: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        refused(vidcot("export", ds, "--format", "hf", "--out", locked / "out"), "cannot write to")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_export_writes_a_new_folder_with_every_file(ds: Path, tmp_path: Path) -> None:
    out = tmp_path / "nested" / "hf"
    r = vidcot("export", ds, "--format", "hf", "--out", out)
    assert r.returncode == 0, r.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))
    assert files == ["pairs/train.parquet", "rl/train.parquet", "sft/train.parquet"]
    assert pq.read_table(out / "sft" / "train.parquet").num_rows == 2
    assert leftovers(out.parent) == []
    assert r.stdout.splitlines() == [f"{out / f}: 2 rows" for f in ("sft/train.parquet", "rl/train.parquet",
                                                                      "pairs/train.parquet")]  # fmt: skip


def test_an_empty_existing_folder_is_used(ds: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    r = vidcot("export", ds, "--format", "video-r1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in out.iterdir()] == ["video_r1_train.json"]
    assert len(json.loads((out / "video_r1_train.json").read_text())) == 2


def test_a_non_empty_folder_needs_overwrite_and_is_then_replaced_whole(ds: Path, tmp_path: Path) -> None:
    out = tmp_path / "exported"
    assert vidcot("export", ds, "--format", "hf", "--out", out).returncode == 0
    (out / "stale.json").write_text("from another export")
    (out / "sft" / "val.parquet").write_bytes(b"stale split")
    before = snapshot(out)
    refused(vidcot("export", ds, "--format", "trl", "--out", out), "--overwrite")
    assert snapshot(out) == before  # refused: untouched
    r = vidcot("export", ds, "--format", "trl", "--out", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["dpo/train.parquet", "grpo/train.parquet", "sft/train.parquet"]  # no stale file beside them
    assert set(pq.read_table(out / "sft" / "train.parquet").column_names) >= {"prompt", "completion"}
    assert leftovers(tmp_path) == []


def test_nothing_to_export_creates_nothing(tmp_path: Path) -> None:
    from benchmarks.records import sample_records
    from schemas.store import DatasetWriter

    root = tmp_path / "no-pools"
    with DatasetWriter(root) as w:
        w.append("shots", sample_records()["shots"])
        w.commit()
    refused(vidcot("export", root, "--format", "hf", "--out", tmp_path / "out" / "hf"), "nothing to export")
    assert not (tmp_path / "out").exists()
