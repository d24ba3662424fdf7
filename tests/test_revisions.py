"""Revisions: each run that adds data is a new revision, older ones stay readable, and nothing is rewritten in place.

tests/test_store.py and tests/test_query.py cover reading an old revision through `Dataset` and `connect`; these
cover the command line (`vidcot query --revision`, `vidcot info`) and that files a reader may hold are never
modified: shards are immutable, and the manifest and the card are replaced by rename.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.keyed_records import add_revision, keyed_records
from data_cards.card import CARD_NAME, build_card
from flows.cli import main as vidcot
from schemas import TABLES
from schemas.store import Dataset, DatasetWriter
from schemas.store.atomic import sha256_file


def query(capsys: pytest.CaptureFixture[str], root: Path, sql: str, *extra: str) -> list[dict]:
    assert vidcot(["query", str(root), sql, "--format", "jsonl", *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_query_at_an_old_revision_gives_its_rows(dataset_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add_revision(dataset_dir, "a" * 64) == 1
    sql = "SELECT video_id, start FROM shots ORDER BY video_id, start"
    at_1 = query(capsys, dataset_dir, sql)
    assert add_revision(dataset_dir, "b" * 64) == 2
    assert query(capsys, dataset_dir, sql, "--revision", "1") == at_1
    assert at_1 == [{"video_id": "a" * 64, "start": 0.0}, {"video_id": "a" * 64, "start": 4.0}]
    latest = query(capsys, dataset_dir, sql)
    assert [r["video_id"][0] for r in latest] == ["a", "a", "b", "b"]
    assert query(capsys, dataset_dir, "SELECT count(*) AS n FROM sft", "--revision", "2") == [{"n": 2}]
    assert vidcot(["query", str(dataset_dir), sql, "--revision", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no revision 3: this dataset has revisions 1..2" in err


def test_info_lists_each_revision_with_what_it_added(dataset_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_revision(dataset_dir, "a" * 64)
    add_revision(dataset_dir, "b" * 64)
    add_revision(dataset_dir, "a" * 64)  # the same rows again: identical shards, so no new revision
    assert vidcot(["info", str(dataset_dir), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["revision"] == 2 and [r["revision"] for r in doc["revisions"]] == [1, 2]
    assert doc["tables"]["shots"] == {"rows": 4, "shards": 2}


def test_a_new_revision_and_a_new_card_rewrite_nothing_in_place(dataset_dir: Path) -> None:
    add_revision(dataset_dir, "a" * 64)
    build_card(dataset_dir)
    old_files = [
        dataset_dir / s.file for t in ("videos", "shots", "frames", "sft") for s in Dataset(dataset_dir).shards(t)
    ]
    fingerprint = {p: (p.stat().st_ino, p.stat().st_mtime_ns, sha256_file(p)) for p in old_files}
    manifest = dataset_dir / "manifest.json"
    with open(manifest, "rb") as old_manifest, open(dataset_dir / CARD_NAME, "rb") as old_card:
        card_before = old_card.read()
        old_card.seek(0)
        add_revision(dataset_dir, "b" * 64)
        build_card(dataset_dir)
        # Readers holding the old files still see them whole: they were replaced by rename, not edited.
        assert [r["revision"] for r in json.loads(old_manifest.read())["revisions"]] == [1]
        assert old_card.read() == card_before
        assert os.fstat(old_manifest.fileno()).st_ino != manifest.stat().st_ino
    for p, before in fingerprint.items():
        assert (p.stat().st_ino, p.stat().st_mtime_ns, sha256_file(p)) == before, p
    assert Dataset(dataset_dir, revision=1).verify() == len(TABLES) < Dataset(dataset_dir).verify()


def test_a_superseding_revision_shows_one_row_per_key_and_old_revisions_as_they_were(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    recs = keyed_records("a" * 64)
    add_revision(dataset_dir, "a" * 64)
    # The same run again with another setting: shot boundaries moved, the chain rewritten (same ids).
    with DatasetWriter(dataset_dir) as w:
        w.replace("shots", [dataclasses.replace(s, end=s.end - 0.5) for s in recs["shots"]], ["a" * 64])
        w.replace("frames", recs["frames"], ["a" * 64])
        w.append("tasks", recs["tasks"])  # the same task again: confirmed
        w.append("cot", [dataclasses.replace(recs["cot"][0], draft="<think>new</think><answer>A</answer>")])
        assert w.commit() == 2
    sql = 'SELECT shot_id, count(*) AS n, max("end") AS e FROM shots GROUP BY 1 ORDER BY 1'
    assert [(r["n"], r["e"]) for r in query(capsys, dataset_dir, sql)] == [(1, 3.5), (1, 7.5)]
    assert [(r["n"], r["e"]) for r in query(capsys, dataset_dir, sql, "--revision", "1")] == [(1, 4.0), (1, 8.0)]
    chains = "SELECT cot_id, draft FROM cot"
    assert [r["draft"] for r in query(capsys, dataset_dir, chains)] == ["<think>new</think><answer>A</answer>"]
    assert [r["draft"] for r in query(capsys, dataset_dir, chains, "--revision", "1")] == [recs["cot"][0].draft]
    # Frames were confirmed as they were, so their evidence stands; the task (from the old shots) was confirmed
    # too; negatives mined from the old chain, and the pools built from either, were not rebuilt: they left.
    counts = "SELECT (SELECT count(*) FROM tasks) AS t, (SELECT count(*) FROM sft) AS s, (SELECT count(*) FROM rl) AS r"
    counts += ", (SELECT count(*) FROM evidence) AS e"
    assert query(capsys, dataset_dir, counts) == [{"t": 1, "s": 0, "r": 0, "e": 1}]
    assert query(capsys, dataset_dir, counts, "--revision", "1") == [{"t": 1, "s": 1, "r": 1, "e": 1}]
    assert vidcot(["info", str(dataset_dir), "--json", "--verify"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["revisions"][1]["changes"]["shots"] == {"written": 2, "removed": 2, "videos_covered": 1}
    assert doc["tables"]["shots"]["rows"] == 2 and doc["tables"]["sft"]["rows"] == 0
