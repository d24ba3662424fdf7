"""Property: any sequence of runs — random videos, settings, stages, append or replace, some killed mid-publish —
leaves one row per key and no orphaned row in the latest revision, and every older revision reads as it was.

A "run" writes, for some videos, the tables of a range of stages (perception from `videos`, or synthesis from
`tasks`) computed from a random setting: the setting changes how many shots, keyframes, segments and tasks there are
and what they hold, as a changed `--set` would. Real shards and manifests in a temporary folder.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas.store.writer as writer_module
from benchmarks.records import PROV
from schemas import (
    TABLES,
    CotRecord,
    EvidenceRecord,
    FrameRecord,
    Message,
    NegativeRecord,
    PairRecord,
    RejectRecord,
    RlRecord,
    SegmentRecord,
    SftRecord,
    ShotRecord,
    TaskRecord,
    VideoRecord,
    WordRecord,
)
from schemas.keys import PARENTS, key_of
from schemas.store import Dataset, DatasetWriter
from schemas.store.integrity import duplicate_keys, orphans
from schemas.store.query import connect

VIDEOS = ("a" * 64, "b" * 64, "c" * 64)
LEVELS = (
    ("videos",),
    ("shots", "segments"),
    ("words", "frames"),
    ("evidence",),
    ("tasks",),
    ("cot",),
    ("negatives",),
    ("sft", "rl", "pairs"),
)
SYNTHESIS = 4  # index of the first synthesis level


def generate(v: str, s: int) -> dict[str, list[Any]]:
    """Every table's rows for video `v` under setting `s`: ids repeat across settings, contents and counts change."""
    p = v[:4]
    msgs = [Message("user", f"q{s}")]
    shots = [
        ShotRecord(v, f"{p}-s{i}", i, 2.0 * i, 2.0 * i + 1.5 + 0.1 * (s % 3), "cut", PROV) for i in range(1 + s % 3)
    ]
    frames = [
        FrameRecord(
            v, f"{p}-f{i}{j}", sh.shot_id, sh.start + 0.5 * j + 0.01 * s, 8, 8, bytes([s % 256]), "0" * 16, PROV
        )
        for i, sh in enumerate(shots)
        for j in range(1 + (s // 3) % 2)
    ]
    segments = [
        SegmentRecord(v, f"{p}-a{i}", i, float(i), i + 0.5, f"text {s % 2}", "en", 0.9, -0.1, 0.0, PROV)
        for i in range(1 + (s // 2) % 2)
    ]
    words = [WordRecord(v, g.segment_id, j, g.start, g.end, f"w{j}", 0.9) for g in segments for j in range(2)]
    evidence = [EvidenceRecord(v, f.frame_id, f.shot_id, f.time, "classic", ocr_text=f"s{s % 2}") for f in frames]
    tasks = [
        TaskRecord(f"{p}-t{i}", v, "visible", "multiple choice", f"q{i}?", "A", ["A. x", "B. y"], split="train")
        for i in range(1 + s % 2)
    ]
    if s % 5 == 0:
        tasks = [TaskRecord(f"{p}-t{i}", v, "ocr", "free-form", f"read {s}?", "EXIT") for i in range(2)]
    cot = [
        CotRecord(
            f"{p}-c{i}",
            t.task_id,
            v,
            "m",
            f"<think>{s}</think><answer>A</answer>",
            None,
            "A",
            1.0,
            1.0,
            0.5,
            0.5,
            1.0,
            s % 4 != 0,
            None,
        )  # fmt: skip
        for i, t in enumerate(tasks)
    ]
    negatives = [NegativeRecord(f"{p}-n{i}", v, "near_miss_span", t.task_id, f"{s}", 0.5) for i, t in enumerate(tasks)]
    return {
        "videos": [
            VideoRecord(
                v,
                f"/x/{p}.mp4",
                10 + s,
                "ok" if s % 7 else "rejected",
                6.0,
                25.0,
                8,
                8,
                0,
                False,
                "mp4",
                "h264",
                True,
                "aac",
                16000,
                1,
                PROV,
            )  # fmt: skip
        ],
        "shots": shots,
        "segments": segments,
        "words": words,
        "frames": frames,
        "evidence": evidence,
        "tasks": tasks,
        "cot": cot,
        "negatives": negatives,
        "sft": [
            SftRecord(f"{p}-s{i}", c.task_id, v, "train", "multiple choice", msgs, f"/x/{p}.mp4")
            for i, c in enumerate(cot)
            if c.accepted
        ],
        "rl": [
            RlRecord(f"{p}-r{i}", t.task_id, v, "train", t.problem_type, msgs, t.answer, difficulty=0.1 * (s % 10))
            for i, t in enumerate(tasks)
        ],
        "pairs": [
            PairRecord(f"{p}-p{i}", c.task_id, v, "train", msgs, c.draft, "<answer>B</answer>", "wrong_answer")
            for i, c in enumerate(cot)
        ],
        "rejects": [RejectRecord("tasks", "ambiguous", f"setting {s}", f"/x/{p}.mp4", v, f"{p}-x{s % 2}")],
    }


@dataclass
class Run:
    videos: list[str]
    setting: int
    start: int  # index into LEVELS
    until: int
    replace: bool
    with_rejects: bool
    kill: bool  # killed after its shards are in place, before the manifest is replaced


class Killed(BaseException):
    """Stands for SIGKILL: raised where the manifest would be replaced, so nothing after it runs."""


def content(root: Path, revision: int) -> dict[str, list[str]]:
    ds = Dataset(root, revision)
    return {t: sorted(repr(r) for r in ds.read(t).to_pylist()) for t in TABLES}


def latest_video_ids(root: Path) -> set[str]:
    if not (root / "manifest.json").exists():
        return set()
    return {r[0] for r in connect(root).execute("SELECT video_id FROM videos").fetchall()}


def rows_of(root: Path, table: str, videos: list[str]) -> list[str]:
    got = Dataset(root).read(table).to_pylist()
    return sorted(repr(r) for r in got if r["video_id"] in videos)


def expected(table: str, recs: list[Any]) -> list[str]:
    from schemas import to_arrow

    return sorted(repr(r) for r in to_arrow(table, recs).to_pylist())


def descendants(table: str) -> set[str]:
    out: set[str] = set()
    todo = [table]
    while todo:
        t = todo.pop()
        for child, parents in PARENTS.items():
            if t in parents and child not in out:
                out.add(child)
                todo.append(child)
    return out


def apply(root: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    videos = run.videos
    if run.start == SYNTHESIS:  # synthesis runs over the videos the dataset has
        have = latest_video_ids(root)
        videos = [v for v in videos if v in have]
        if not videos:
            return
    until = max(run.until, run.start)
    tables = [t for level in LEVELS[run.start : until + 1] for t in level] + (["rejects"] if run.with_rejects else [])
    generated = {v: generate(v, run.setting) for v in videos}
    manifest = root / "manifest.json"
    before_bytes = manifest.read_bytes() if manifest.exists() else None
    before = {t: rows_of(root, t, videos) for t in TABLES} if before_bytes else None
    with DatasetWriter(root) as w:
        for t in tables:
            recs = [r for v in videos for r in generated[v][t]]
            if run.replace:
                w.replace(t, recs, videos)
            else:
                w.append(t, recs)
        if run.kill:
            with monkeypatch.context() as m:
                m.setattr(writer_module, "save_manifest", _killed)
                with contextlib.suppress(Killed):  # a run that changes nothing publishes nothing: no kill
                    w.commit()
            assert (manifest.read_bytes() if manifest.exists() else None) == before_bytes
            return
        w.commit()
    for t in tables:
        if run.replace:  # exactly the rows given, for those videos
            assert rows_of(root, t, videos) == expected(t, [r for v in videos for r in generated[v][t]]), t
    if before is not None:
        # A table the run did not write either kept its rows for the run's videos or (derived from a table whose
        # rows changed) lost them all — never a mix of rows of two settings.
        for t in set(TABLES) - set(tables) - {"rejects"}:
            now = rows_of(root, t, videos)
            for v in videos:
                mine = [r for r in now if repr(v) in r]
                was = [r for r in before[t] if repr(v) in r]
                assert mine in (was, []), (t, v)


def _killed(*_: Any) -> None:
    raise Killed


def check_latest(root: Path) -> None:
    if not (root / "manifest.json").exists():
        return
    con = connect(root)
    for t in TABLES:
        assert duplicate_keys(con, t) == 0, f"{t} ({', '.join(key_of(t))}) has a key twice"
    assert orphans(con) == {}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(st.builds(
    Run,
    videos=st.lists(st.sampled_from(VIDEOS), min_size=1, max_size=3, unique=True),
    setting=st.integers(0, 11),
    start=st.sampled_from([0, 0, SYNTHESIS]),
    until=st.integers(0, len(LEVELS) - 1),
    replace=st.booleans(),
    with_rejects=st.booleans(),
    kill=st.sampled_from([False, False, False, True]),
), min_size=1, max_size=5))  # fmt: skip
def test_any_sequence_of_runs_keeps_keys_unique_and_parents_present(
    sequence: list[Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        seen: dict[int, dict[str, list[str]]] = {}
        for run in sequence:
            apply(root, run, monkeypatch)
            check_latest(root)
            if (root / "manifest.json").exists():
                rev = Dataset(root).revision
                seen.setdefault(rev, content(root, rev))
        for rev, was in seen.items():
            assert content(root, rev) == was, f"revision {rev} changed"
        if seen:  # a killed run's leftovers are gone once the next writer opens
            with DatasetWriter(root):
                pass
            listed = {s.file for s in Dataset(root).manifest.shards}
            on_disk = {p.relative_to(root).as_posix() for p in root.glob("*/*.parquet")}
            on_disk |= {p.relative_to(root).as_posix() for p in root.glob(".history/*/*.parquet")}
            assert on_disk == listed
