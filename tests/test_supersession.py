"""Rows are superseded by key: one row per key in the latest revision, older revisions read as they were, a
`replace` leaves exactly the rows it was given for its videos, and rows derived from changed rows leave with them.

Datasets are written with the store directly (real Parquet shards, a real manifest, DuckDB views).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.keyed_records import keyed_records
from flows.cli import main as vidcot
from schemas import TABLES, from_arrow
from schemas.keys import KEYS, PARENTS, key_of, lineage_order
from schemas.store import Dataset, DatasetWriter, StoreError
from schemas.store.integrity import duplicate_keys, orphans, verify_dataset
from schemas.store.query import connect

A, B = "a" * 64, "b" * 64


def write(root: Path, records: dict[str, list[Any]], replace: dict[str, list[str]] | None = None) -> int:
    """One revision: `records` appended, or (for tables in `replace`) replaced for the videos named there."""
    with DatasetWriter(root) as w:
        for table, rows in records.items():
            if replace and table in replace:
                w.replace(table, rows, replace[table])
            else:
                w.append(table, rows)
        return w.commit()


def rows(root: Path, table: str, revision: int | None = None) -> list[Any]:
    key = key_of(table)
    out = from_arrow(table, Dataset(root, revision).read(table))
    return sorted(out, key=lambda r: tuple(str(getattr(r, k)) for k in key))


def test_every_table_has_a_key_and_parents_that_exist() -> None:
    assert set(KEYS) == set(PARENTS) == set(TABLES)
    from schemas import schema_for

    for table, key in KEYS.items():
        assert set(key) <= set(schema_for(table).names), table
        assert "video_id" in schema_for(table).names, table
    order = lineage_order()
    for table, parents in PARENTS.items():
        assert all(order.index(p) < order.index(table) for p in parents), table


def test_a_rewritten_key_shows_once_and_the_old_revision_keeps_its_row(dataset_dir: Path) -> None:
    recs = keyed_records(A)
    assert write(dataset_dir, recs) == 1
    cot = recs["cot"][0]
    new = dataclasses.replace(cot, draft="<think>other</think><answer>B</answer>", predicted_answer="B")
    assert write(dataset_dir, {"cot": [new]}) == 2
    assert rows(dataset_dir, "cot") == [new]
    assert rows(dataset_dir, "cot", revision=1) == [cot]
    con = connect(dataset_dir)
    assert con.execute("SELECT count(*), any_value(draft) FROM cot").fetchall() == [(1, new.draft)]
    # The shard that held the old row is listed for revision 1 only, and so are those of the pools built from
    # the old chain (this revision did not rebuild them); tasks and everything upstream stay.
    doc = manifest(dataset_dir)
    dropped = {s["table"]: (s["revision"], s["dropped"]) for s in doc["shards"] if s["dropped"] is not None}
    assert dropped == {t: (1, 2) for t in ("cot", "sft", "pairs", "negatives", "rl")}
    assert doc["revisions"][1]["changes"]["cot"] == {"written": 1, "removed": 1, "videos_covered": 1}
    assert rows(dataset_dir, "tasks") == recs["tasks"] and rows(dataset_dir, "sft") == []


def test_rows_identical_to_the_current_ones_make_no_revision(dataset_dir: Path) -> None:
    write(dataset_dir, keyed_records(A))
    before = (dataset_dir / "manifest.json").read_bytes()
    with DatasetWriter(dataset_dir) as w:
        for table, recs in keyed_records(A).items():
            w.replace(table, recs, [A])
        assert w.commit() == 1 and w.changes == {}
    assert (dataset_dir / "manifest.json").read_bytes() == before


def test_of_one_key_staged_twice_the_last_wins(dataset_dir: Path) -> None:
    shots = keyed_records(A)["shots"]
    later = dataclasses.replace(shots[0], end=3.5)
    with DatasetWriter(dataset_dir) as w:
        w.append("shots", shots)
        w.append("shots", [later])
        w.commit()
    assert rows(dataset_dir, "shots") == [later, shots[1]]


def test_replace_leaves_exactly_the_given_rows_of_its_videos(dataset_dir: Path) -> None:
    a, b = keyed_records(A), keyed_records(B)
    f0 = a["frames"][0]
    three = [f0, dataclasses.replace(f0, frame_id=f0.frame_id[:-1] + "1", time=2.0),
             dataclasses.replace(f0, frame_id=f0.frame_id[:-1] + "2", time=3.0)]  # fmt: skip
    write(dataset_dir, {"shots": a["shots"] + b["shots"], "frames": three + b["frames"]})
    # Fewer keyframes per shot now: f2 is no longer produced, f1 moved, f0 is the same.
    moved = dataclasses.replace(three[1], time=2.5, jpeg=b"\xff\xd8other")
    with DatasetWriter(dataset_dir) as w:
        assert w.replace("frames", [f0, moved], [A]) == 2
        assert w.commit() == 2
        assert (w.changes["frames"].written, w.changes["frames"].removed) == (1, 2)  # f1 superseded, f2 gone
    assert rows(dataset_dir, "frames") == sorted([f0, moved, *b["frames"]], key=lambda f: f.frame_id)
    assert rows(dataset_dir, "frames", revision=1) == sorted([*three, *b["frames"]], key=lambda f: f.frame_id)
    assert rows(dataset_dir, "shots") == rows(dataset_dir, "shots", revision=1)  # another table: untouched


def test_replace_with_no_rows_empties_the_videos_and_refuses_rows_of_others(dataset_dir: Path) -> None:
    a, b = keyed_records(A), keyed_records(B)
    write(dataset_dir, {"segments": a["segments"] + b["segments"]})
    with DatasetWriter(dataset_dir) as w:
        with pytest.raises(StoreError, match="not among the videos it replaces"):
            w.replace("segments", b["segments"], [A])
        w.replace("segments", [], [A])
        assert w.commit() == 2
    assert rows(dataset_dir, "segments") == b["segments"]


def test_a_changed_parent_takes_its_unconfirmed_descendants_with_it(dataset_dir: Path) -> None:
    """`curate --until evidence` after a shots setting change: frames and evidence are recomputed (evidence the
    same), so tasks, chains and pools of that video, derived from the old frames, leave the latest view."""
    a, b = keyed_records(A), keyed_records(B)
    write(dataset_dir, {t: a[t] + b[t] for t in TABLES if t != "rejects"})
    shots = [dataclasses.replace(s, end=s.end + 0.5) for s in a["shots"]]
    with DatasetWriter(dataset_dir) as w:
        w.replace("shots", shots, [A])
        w.replace("frames", a["frames"], [A])  # identical: confirmed, not rewritten
        w.replace("evidence", a["evidence"], [A])
        assert w.commit() == 2
        changed = {t for t, c in w.changes.items() if c.written or c.removed}
        assert changed == {"shots", "tasks", "cot", "sft", "rl", "pairs", "negatives"}
        # Frames and evidence were confirmed for the video: recorded as covered, nothing written or removed.
        assert (w.changes["frames"].written, w.changes["frames"].removed, w.changes["frames"].videos_covered) == (
            0,
            0,
            1,
        )
    assert rows(dataset_dir, "shots") == sorted(shots + b["shots"], key=lambda s: s.shot_id)
    assert rows(dataset_dir, "frames") == rows(dataset_dir, "frames", revision=1)
    assert rows(dataset_dir, "evidence") == rows(dataset_dir, "evidence", revision=1)
    for table in ("tasks", "cot", "sft", "rl", "pairs", "negatives"):
        assert {r.video_id for r in rows(dataset_dir, table)} == {B}, table
        assert {r.video_id for r in rows(dataset_dir, table, revision=1)} == {A, B}, table
    assert {r.video_id for r in rows(dataset_dir, "segments")} == {A, B}  # not derived from shots
    con = connect(dataset_dir)
    assert orphans(con) == {} and all(duplicate_keys(con, t) == 0 for t in TABLES)


def test_unconfirmed_children_of_a_changed_table_leave_but_rewritten_ones_stay(dataset_dir: Path) -> None:
    a = keyed_records(A)
    write(dataset_dir, a)
    # Synthesis again: the task is rewritten (its question changed), chains rewritten, pools not run this time.
    task = dataclasses.replace(a["tasks"][0], question="Which colour?")
    cot = dataclasses.replace(a["cot"][0], draft="<think>e</think><answer>A</answer>")
    assert write(dataset_dir, {"tasks": [task], "cot": [cot]}) == 2
    assert rows(dataset_dir, "tasks") == [task] and rows(dataset_dir, "cot") == [cot]
    for table in ("sft", "rl", "pairs", "negatives"):
        assert rows(dataset_dir, table) == [], table
    assert rows(dataset_dir, "videos") == a["videos"]


def test_info_verify_checks_keys_in_every_revision(dataset_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(dataset_dir, keyed_records(A))
    write(dataset_dir, {"cot": [dataclasses.replace(keyed_records(A)["cot"][0], draft="x")]})
    assert vidcot(["info", str(dataset_dir), "--verify"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "every key is unique in each of 2 revisions" in out
    verdict = verify_dataset(dataset_dir)
    assert verdict.ok and verdict.shards == len({s["file"] for s in manifest(dataset_dir)["shards"]})
    # A damaged manifest that lists the superseded shard again: two rows for one chain in the latest revision.
    doc = manifest(dataset_dir)
    undrop(dataset_dir, doc)
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    assert vidcot(["info", str(dataset_dir), "--verify"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "revision 2: 1 key(s) of cot (cot_id) have more than one row" in err


def test_a_legacy_duplicate_is_a_note_in_an_old_revision_and_cleaned_by_the_next_write(dataset_dir: Path) -> None:
    recs = keyed_records(A)
    write(dataset_dir, {"videos": recs["videos"], "tasks": recs["tasks"], "cot": recs["cot"]})
    write(dataset_dir, {"cot": [dataclasses.replace(recs["cot"][0], draft="x")]})
    # Make it look like the old store wrote both revisions: nothing superseded, no marks.
    doc = manifest(dataset_dir)
    undrop(dataset_dir, doc)
    for r in doc["revisions"]:
        r["unique_keys"] = False
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    assert Dataset(dataset_dir).rows("cot") == 2
    verdict = verify_dataset(dataset_dir)
    assert verdict.problems == ["revision 2: 1 key(s) of cot (cot_id) have more than one row"]
    # The next run that writes the chain again leaves one row for it, whichever old row it matched.
    write(dataset_dir, {"cot": recs["cot"]})
    assert rows(dataset_dir, "cot") == recs["cot"]
    verdict = verify_dataset(dataset_dir)
    assert verdict.ok and verdict.notes == ["revision 2: 1 key(s) of cot (cot_id) have more than one row"]


def manifest(root: Path) -> dict[str, Any]:
    return json.loads((root / "manifest.json").read_text())


def undrop(root: Path, doc: dict[str, Any]) -> None:
    """List every shard of `doc` as live again, moving those in the history back into their table folders."""
    for s in doc["shards"]:
        if s["dropped"] is not None:
            live = s["file"].removeprefix(".history/")
            (root / s["file"]).rename(root / live)
            s["file"], s["dropped"] = live, None


@pytest.mark.parametrize("bad", ["../x.parquet", "/etc/passwd", "shots/../../x.parquet", "frames/x.parquet"])
def test_a_manifest_naming_a_shard_outside_the_dataset_is_refused_everywhere(
    dataset_dir: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(dataset_dir, {"shots": keyed_records(A)["shots"]})
    doc = manifest(dataset_dir)
    doc["shards"][0]["file"] = bad  # a shots shard: "frames/x.parquet" is inside, but not a shots shard
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="not a shard file inside the dataset"):
        Dataset(dataset_dir)
    for argv in (["info", str(dataset_dir), "--verify"], ["query", str(dataset_dir), "SELECT count(*) FROM shots"]):
        assert vidcot(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and repr(bad) in err
    with pytest.raises(StoreError, match="not a shard file"), DatasetWriter(dataset_dir):
        pass


def test_a_shard_that_links_outside_the_dataset_is_refused(dataset_dir: Path, tmp_path: Path) -> None:
    write(dataset_dir, {"shots": keyed_records(A)["shots"]})
    shard = Dataset(dataset_dir).shards("shots")[0]
    outside = tmp_path / "elsewhere.parquet"
    (dataset_dir / shard.file).rename(outside)
    (dataset_dir / shard.file).symlink_to(outside)
    from schemas.store import CorruptShard

    with pytest.raises(CorruptShard, match="outside the dataset"):
        Dataset(dataset_dir).read("shots")
    with pytest.raises(CorruptShard, match="outside the dataset"):
        connect(dataset_dir)


def test_replace_where_sets_only_the_rows_it_names(dataset_dir: Path) -> None:
    """A perception run replaces its stages' rejects of a video and leaves the synthesis stages' rejects alone."""
    from schemas import RejectRecord

    def reject(stage: str, reason: str, vid: str = A) -> RejectRecord:
        return RejectRecord(stage, reason, "d", "/x/a.mp4", vid, None, None)

    old = [reject("asr", "no_speech"), reject("tasks", "ambiguous"), reject("asr", "no_speech", B)]
    write(dataset_dir, {"rejects": old})
    with DatasetWriter(dataset_dir) as w:
        with pytest.raises(StoreError, match="outside its where"):
            w.replace("rejects", [reject("tasks", "x")], [A], where={"stage": ["probe", "asr"]})
        with pytest.raises(StoreError, match="not a column"):
            w.replace("rejects", [], [A], where={"nope": ["x"]})
        w.replace("rejects", [reject("probe", "too_long")], [A], where={"stage": ["probe", "asr"]})
        assert w.commit() == 2
    got = {(r.stage, r.reason, r.video_id) for r in rows(dataset_dir, "rejects")}
    assert got == {("probe", "too_long", A), ("tasks", "ambiguous", A), ("asr", "no_speech", B)}
