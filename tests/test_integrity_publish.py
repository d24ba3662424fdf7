"""A writer SIGKILLed at every step of publishing a revision (every rename, link, symlink and fsync it makes) leaves
each table folder at the previous or the new revision — one row per key, never both revisions' shards — as
`load_dataset("parquet", data_dir=…)` and `load_dataset(DS, name)` (through the card) read it, and every manifest
reader reads the previous or the new revision whole."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.keyed_records import add_revision
from schemas.store import Dataset, DatasetWriter
from schemas.store.integrity import verify_dataset

TABLES_READ = ("sft", "rl", "pairs")
KEYS = {"sft": "sample_id", "rl": "sample_id", "pairs": "pair_id"}

# Counts the file-system changes of one commit that put something where a reader looks (renames, links, symlinks;
# the unlinks that follow only remove what no listing names any more) and SIGKILLs itself at change N (argv[2]);
# prints DONE and the count if none was N.
KILLED_AT_STEP = textwrap.dedent(
    """
    import dataclasses, os, signal, sys
    from pathlib import Path
    from schemas.store import DatasetWriter
    from benchmarks.keyed_records import keyed_records

    root, stop = Path(sys.argv[1]), int(sys.argv[2])
    step = 0

    def counted(fn):
        def wrapped(*a, **k):
            global step
            step += 1
            if step == stop:
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*a, **k)
        return wrapped

    for name in ("replace", "link", "symlink", "rename"):
        setattr(os, name, counted(getattr(os, name)))
    with DatasetWriter(root) as w:
        a = keyed_records("a" * 64)
        for table in ("sft", "rl", "pairs"):  # video a's pool rows again, changed: they supersede the old ones
            changed = [
                dataclasses.replace(r, provenance=dataclasses.replace(r.provenance, config_hash="changed"))
                for r in a[table]
            ]
            w.replace(table, changed, ["a" * 64])
        w.commit()
    print("DONE", step)
    """
)


def _card(root: Path) -> None:
    from data_cards.card import ensure_card

    ensure_card(root)


def _keyed(keys: list[str], provenance: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted(zip(keys, (p["config_hash"] for p in provenance), strict=True))


def _rows(root: Path, table: str) -> list[tuple[str, str]]:
    import datasets

    ds = datasets.load_dataset("parquet", data_dir=str(root / table), split="train")
    return _keyed(ds[KEYS[table]], ds["provenance"])


def _card_rows(root: Path, table: str) -> list[tuple[str, str]]:
    import datasets

    d = datasets.load_dataset(str(root), table)
    return sorted(r for split in d.values() for r in _keyed(split[KEYS[table]], split["provenance"]))


def _manifest_rows(root: Path, table: str) -> list[tuple[str, str]]:
    t = Dataset(root).read(table)
    return _keyed(t.column(KEYS[table]).to_pylist(), t.column("provenance").to_pylist())


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("publish") / "base"
    for vid in ("a" * 64, "b" * 64):
        add_revision(root, vid)
    _card(root)
    return root


def test_kill_at_every_publish_step_leaves_old_or_new(base: Path, tmp_path: Path) -> None:
    os.environ["HF_DATASETS_CACHE"] = str(tmp_path / "hf")
    before = {t: _rows(base, t) for t in TABLES_READ}
    # The run not killed gives the new rows.
    done = tmp_path / "done"
    shutil.copytree(base, done, symlinks=True)
    r = subprocess.run([sys.executable, "-c", KILLED_AT_STEP, str(done), "0"], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1], timeout=300)  # fmt: skip
    assert r.returncode == 0 and r.stdout.startswith("DONE"), r.stderr
    steps = int(r.stdout.split()[1])
    after = {t: _rows(done, t) for t in TABLES_READ}
    assert all(before[t] != after[t] for t in TABLES_READ)
    assert steps >= 6
    seen_new = 0
    for stop in range(1, steps + 1):
        root = tmp_path / f"k{stop}"
        shutil.copytree(base, root, symlinks=True)
        r = subprocess.run([sys.executable, "-c", KILLED_AT_STEP, str(root), str(stop)], capture_output=True,
                           text=True, cwd=Path(__file__).resolve().parents[1], timeout=300)  # fmt: skip
        assert r.returncode == -9, (stop, r.stdout, r.stderr)
        for t in TABLES_READ:
            got = _rows(root, t)
            assert len({k for k, _ in got}) == len(got), f"step {stop}: duplicate keys in {t}"
            assert got in (before[t], after[t]), f"step {stop}: {t} is neither revision"
            seen_new += got == after[t]
            if t == "sft":
                assert _card_rows(root, t) in (before[t], after[t]), f"step {stop}: the card reads neither revision"
            assert _manifest_rows(root, t) in (before[t], after[t]), f"step {stop}: the manifest reads neither"
        # The next writer puts everything back in order.
        with DatasetWriter(root):
            pass
        assert verify_dataset(root).ok
        for t in TABLES_READ:
            m = Dataset(root).manifest
            assert {p.name for p in (root / t).iterdir()} == {Path(s.file).name for s in m.shards_of(t)}
        shutil.rmtree(root)
    assert seen_new  # some steps left the new revision showing before the manifest named it
