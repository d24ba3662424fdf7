"""Read verification: random single-bit flips across a dataset's shards through `query` and `export` (each must be
an error, none may change rows silently), and what the check costs — first open (hashing every shard) vs a cached
open vs reading the shards with no check.

    python -m benchmarks.integrity --videos 100 --flips 1000 --json benchmarks/results/integrity.json

The dataset is the test records (benchmarks/keyed_records.py) of `--videos` videos written in two revisions (every table
has a shard or two, as a dataset curated in two runs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

import schemas.store.reader as reader
from benchmarks.keyed_records import keyed_records
from benchmarks.output import write_json
from flows.cli import main as vidcot
from schemas import TABLES
from schemas.store import Dataset, DatasetWriter


def build(root: Path, videos: int) -> None:
    """`videos` videos' rows in two revisions (the first and second half), as a dataset curated in two runs."""
    half = max(1, videos // 2)
    for part in (range(half), range(half, videos)):
        if not part:
            continue
        with DatasetWriter(root) as w:
            for i in part:
                for table, rows in keyed_records(f"{i:064x}").items():
                    w.append(table, rows)
            w.commit()


def _flip(path: Path, bit: int) -> None:
    data = bytearray(path.read_bytes())
    data[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(data))


def _quiet(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = vidcot(argv)
    return code, out.getvalue()


def flips(root: Path, n: int, seed: int, scratch: Path) -> dict[str, Any]:
    """`n` flips, alternating query and export; a flip is silent when the command exits 0."""
    rng = random.Random(seed)
    ds = Dataset(root)
    shards = [s for t in ("sft", "rl", "pairs", "tasks", "cot") for s in ds.shards(t)]  # the latest view
    weights = [s.bytes for s in shards]
    silent = errors = 0
    by_reader = {"query": 0, "export": 0}
    for i in range(n):
        (s,) = rng.choices(shards, weights)
        bit = rng.randrange(s.bytes * 8)
        path = root / s.file
        _flip(path, bit)
        try:
            if i % 2 == 0:
                reader_name = "query"
                code, _ = _quiet(["query", str(root), f"SELECT * FROM {s.table}", "--format", "jsonl"])
            else:
                reader_name = "export"
                code, _ = _quiet(["export", str(root), "--format", "trl", "--out", str(scratch / f"e{i}")])
            by_reader[reader_name] += 1
            if code == 0:
                silent += 1
            else:
                errors += 1
            if (i + 1) % 100 == 0:
                print(f"{i + 1} flips: {silent} silent", flush=True)
        finally:
            _flip(path, bit)
    return {"flips": n, "silent": silent, "errors": errors, "by_reader": by_reader}


def cost(root: Path, repeats: int) -> dict[str, Any]:
    """Seconds to open every shard of every table: verified first (hashing), verified again (cached), plain."""
    ds = Dataset(root)
    shards = [s for t in TABLES for s in ds.shards(t)]
    first, cached, plain = [], [], []
    for _ in range(repeats):
        reader._HASHED.clear()
        t0 = time.perf_counter()
        for s in shards:
            ds.read_shard(s)
        first.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for s in shards:
            ds.read_shard(s)
        cached.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for s in shards:
            pq.read_table(root / s.file)
        plain.append(time.perf_counter() - t0)
    return {
        "shards": len(shards),
        "bytes": sum(s.bytes for s in shards),
        "read_verified_first_s": statistics.median(first),
        "read_verified_cached_s": statistics.median(cached),
        "read_plain_s": statistics.median(plain),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=100)
    p.add_argument("--flips", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        build(root, args.videos)
        doc = {"videos": args.videos, "cost": cost(root, args.repeats)}
        doc["flips"] = flips(root, args.flips, args.seed, Path(tmp))
    print(doc)
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
