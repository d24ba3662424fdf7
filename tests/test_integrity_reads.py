"""Every reader checks each shard it opens against the manifest (size and sha256): a flipped bit is an error naming
the shard, never rows that were not written. The hash is taken once per shard per process."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import schemas.store.reader as reader_module
from benchmarks.keyed_records import add_revision
from flows.cli import main as vidcot
from schemas.store import CorruptShard, Dataset
from schemas.store.query import connect


def flip_bit(path: Path, bit: int) -> None:
    data = bytearray(path.read_bytes())
    data[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(data))


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    for vid in ("a" * 64, "b" * 64, "c" * 64):
        add_revision(root, vid)
    return root


def _sft_shard(root: Path) -> str:
    return Dataset(root).shards("sft")[-1].file


def test_flipped_bit_is_an_error_naming_the_shard_in_query(ds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shard = _sft_shard(ds)
    assert vidcot(["query", str(ds), "SELECT sample_id FROM sft", "--format", "csv"]) == 0
    before = capsys.readouterr().out
    size = (ds / shard).stat().st_size
    flip_bit(ds / shard, (size // 2) * 8 + 3)  # inside the data pages: the footer still parses
    assert vidcot(["query", str(ds), "SELECT sample_id FROM sft", "--format", "csv"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    assert shard in captured.err and "checksum" in captured.err
    flip_bit(ds / shard, (size // 2) * 8 + 3)  # flipped back: the same bytes read again
    assert vidcot(["query", str(ds), "SELECT sample_id FROM sft", "--format", "csv"]) == 0
    assert capsys.readouterr().out == before


@pytest.mark.parametrize("fmt", ["trl", "hf", "video-r1"])
def test_flipped_bit_is_an_error_in_export(
    ds: Path, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = _sft_shard(ds)
    flip_bit(ds / shard, ((ds / shard).stat().st_size // 2) * 8)
    out = tmp_path / f"out-{fmt}"
    assert vidcot(["export", str(ds), "--format", fmt, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and shard in err, err


def test_every_reader_refuses_a_changed_shard(ds: Path) -> None:
    from trainers.data import load_table, rl_rows

    shard = _sft_shard(ds)
    flip_bit(ds / shard, 8 * 200)
    with pytest.raises(CorruptShard, match=shard):
        Dataset(ds).read("sft")
    with pytest.raises(CorruptShard, match=shard):
        Dataset(ds).files("sft")
    with pytest.raises(CorruptShard, match=shard):
        connect(ds)
    with pytest.raises(CorruptShard, match=shard):
        load_table(ds, "sft")
    with pytest.raises(CorruptShard, match=shard):
        load_table(ds, "sft", streaming=True)
    rl = Dataset(ds).shards("rl")[-1].file
    flip_bit(ds / rl, 8 * 200)
    with pytest.raises(CorruptShard, match=rl):
        rl_rows(ds, "train")


def test_a_shard_is_hashed_once_per_process(ds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []
    real = reader_module.sha256_file

    def counting(path: Path) -> str:
        hashed.append(Path(path))
        return real(path)

    monkeypatch.setattr(reader_module, "sha256_file", counting)
    reader_module._HASHED.clear()
    ds_ = Dataset(ds)
    n = len({s.file for t in ("sft", "rl", "shots") for s in ds_.shards(t)})
    for _ in range(3):
        for t in ("sft", "rl", "shots"):
            ds_.read(t)
    assert len(hashed) == n
    # A changed file is hashed again (its mtime moved), and refused.
    shard = _sft_shard(ds)
    flip_bit(ds / shard, 8 * 100)
    with pytest.raises(CorruptShard, match=shard):
        ds_.read("sft")
    assert len(hashed) == n + 1


def test_random_bit_flips_never_read_as_data(ds: Path) -> None:
    """Random single-bit flips across every shard: each one an error through the query connection
    (benchmarks/integrity_bitflips.py runs 1,000 through query and export)."""
    rng = random.Random(7)
    shards = [s for t in ("sft", "rl", "pairs", "tasks", "shots") for s in Dataset(ds).shards(t)]
    silent = 0
    for _ in range(40):
        s = rng.choice(shards)
        bit = rng.randrange(s.bytes * 8)
        flip_bit(ds / s.file, bit)
        try:
            con = connect(ds)
            con.execute(f"SELECT * FROM {s.table}").fetchall()
            con.close()
            silent += 1
        except CorruptShard as e:
            assert s.file in str(e)
        finally:
            flip_bit(ds / s.file, bit)
    assert silent == 0
