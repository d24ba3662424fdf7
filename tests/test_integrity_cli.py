"""What a careless user types at the CLI: a lock that is a link, outputs aimed into a dataset, a file given as a
dataset, and out-of-range query options — each a one-line error (exit 2) that changes nothing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.keyed_records import add_revision
from flows.cli import main as vidcot
from schemas.store import DatasetLock, DatasetLocked, DatasetWriter, StoreError
from schemas.store.lock import LOCK_NAME


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    for vid in ("a" * 64, "b" * 64):
        add_revision(root, vid)
    return root


def one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"vidcot {command}: error:"), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_lock_that_is_a_link_is_refused_and_its_target_untouched(ds: Path, tmp_path: Path, link: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = ds / LOCK_NAME
    lock.unlink(missing_ok=True)
    (os.symlink if link == "symlink" else os.link)(victim, lock)
    with pytest.raises(StoreError, match="lock file"), DatasetWriter(ds) as w:
        w.append("rejects", [])
    assert victim.read_text() == "precious\n"


def test_a_second_curate_is_refused_before_prefect_starts(ds: Path, tmp_path: Path) -> None:
    from flows.config import CurateConfig
    from flows.curate import run_curate

    video = tmp_path / "v.mp4"
    video.write_bytes(b"\0" * 10)
    with DatasetLock(ds):
        t0 = time.monotonic()
        with pytest.raises(DatasetLocked, match="is being written by pid"):
            run_curate([video], ds, CurateConfig(), show_progress=False)
        assert time.monotonic() - t0 < 5


def test_train_and_eval_out_inside_a_dataset_are_refused(ds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in ds.iterdir())
    assert vidcot(["train", "sft", "--data", str(ds), "--out", str(ds)]) == 2
    assert "inside the dataset" in one_line_error(capsys, "train")
    assert vidcot(["train", "sft", "--data", str(ds), "--out", str(ds / "run")]) == 2
    assert "inside the dataset" in one_line_error(capsys, "train")
    assert vidcot(["eval", "--data", str(ds), "--out", str(ds / "x.json")]) == 2
    assert "inside the dataset" in one_line_error(capsys, "eval")
    assert sorted(p.name for p in ds.iterdir()) == before


def test_browse_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    assert vidcot(["browse", str(f)]) == 2
    assert "a file, not a dataset folder" in one_line_error(capsys, "browse")


def test_query_limit_and_revision_bounds(ds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        vidcot(["query", str(ds), "SELECT 1", "--limit", "-1"])
    assert e.value.code == 2
    assert "--limit" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        vidcot(["query", str(ds), "SELECT 1", "--revision", "0"])
    assert e.value.code == 2
    assert "--revision" in capsys.readouterr().err
    assert vidcot(["query", str(ds), "SELECT count(*) FROM sft", "--revision", "3"]) == 2
    assert "no revision 3" in one_line_error(capsys, "query")
    assert vidcot(["query", str(ds), "SELECT video_id FROM videos ORDER BY 1", "--limit", "0"]) == 0
    out = capsys.readouterr().out
    assert "aaaaaaaa" in out and "bbbbbbbb" in out


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_query_json_is_valid_with_nan_and_infinity(ds: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    sql = (
        "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, '-inf'::DOUBLE AS c, [1.5, 'nan'::DOUBLE] AS d, "
        "2.5::DOUBLE AS e"
    )
    assert vidcot(["query", str(ds), sql, "--format", fmt]) == 0
    out = capsys.readouterr().out

    def strict(text: str) -> Any:
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))

    row = strict(out)[0] if fmt == "json" else strict(out.strip())
    assert row == {"a": None, "b": None, "c": None, "d": [1.5, None], "e": 2.5}
