"""The whole pipeline on a few sample clips: perception, then tasks → draft → refine → verify → pools."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import from_arrow
from schemas.store import Dataset
from schemas.store.query import connect
from trainers.rewards import answer_score, parse_completion

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def curated(pipeline_dataset: tuple[Path, dict]) -> tuple[Path, dict]:
    return pipeline_dataset


def test_pools_are_filled(curated: tuple[Path, dict]) -> None:
    out, summary = curated
    ds = Dataset(out)
    for table in ("tasks", "cot", "sft", "rl", "pairs", "negatives"):
        assert ds.rows(table) > 0, table
    syn = summary["synthesis"]
    assert syn["pools"]["sft"] == ds.rows("sft") and syn["verdicts"]["accepted"] >= 1


def test_every_sft_answer_is_fully_correct(curated: tuple[Path, dict]) -> None:
    ds = Dataset(curated[0])
    tasks = {t.task_id: t for t in from_arrow("tasks", ds.read("tasks"))}
    for row in from_arrow("sft", ds.read("sft")):
        assert [m.role for m in row.messages] == ["system", "user", "assistant"]
        parsed = parse_completion(row.messages[-1].content)
        task = tasks[row.task_id]
        assert parsed.well_formed
        assert answer_score(parsed.answer, task.answer, task.problem_type, task.options) == 1.0


def test_no_video_in_two_splits(curated: tuple[Path, dict]) -> None:
    con = connect(curated[0])
    rows = con.execute(
        """SELECT video_id, count(DISTINCT split) FROM (
               SELECT video_id, split FROM sft UNION ALL SELECT video_id, split FROM rl
               UNION ALL SELECT video_id, split FROM tasks UNION ALL SELECT video_id, split FROM pairs)
           GROUP BY video_id HAVING count(DISTINCT split) > 1"""
    ).fetchall()
    assert rows == []


def test_every_chain_keeps_draft_and_verdict(curated: tuple[Path, dict]) -> None:
    con = connect(curated[0])
    bad = con.execute("SELECT count(*) FROM cot WHERE NOT accepted AND reject_reason IS NULL").fetchone()
    assert bad == (0,)
    accepted = con.execute("SELECT count(*), min(grounding) FROM cot WHERE accepted").fetchone()
    assert accepted is not None and accepted[0] >= 1 and accepted[1] >= 0.5
    # refined text sits beside the draft for every chain that passed refinement
    assert con.execute("SELECT count(*) FROM cot WHERE accepted AND refined IS NULL").fetchone() == (0,)
