"""Pools end to end on hand-built views: tasks → chains → verify → negatives/difficulty → pools → dataset → export."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.difficulty import Difficulty, DifficultyConfig, DifficultyStage, pass_at_k
from curation.negatives import NegativesConfig, NegativesStage
from curation.pools import PoolsConfig, PoolsStage
from curation.tasks import TasksConfig, TasksStage
from curation.verify import VerifyConfig, VerifyStage
from curation.views import load_views
from flows.cli import main
from schemas import CotRecord, TaskRecord
from schemas.store import DatasetWriter
from schemas.store.query import connect
from tests.llm_standins import ScriptedBackend
from tests.views import kitchen_view, street_view
from trainers.rewards import answer_score, parse_completion

THINK = "I look at the shots listed with their times and at what the keyframes show, then I answer the question."


def chain(task: TaskRecord, answer: str, n: int) -> CotRecord:
    text = f"<think>{THINK} (take {n})</think><answer>{answer}</answer>"
    return CotRecord(f"{task.task_id}-{n}", task.task_id, task.video_id, "m", text, text, None, 0.0, 0.0, 0.9, 0.9,
                     1.0, False, None)  # fmt: skip


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> dict:
    views = [street_view(), kitchen_view(), kitchen_view("vid-kitchen-2"), street_view("vid-street-2")]
    tasks, task_rejects = TasksStage(TasksConfig(max_per_video=2)).generate(views)
    by_id = {v.video_id: v for v in views}
    # Two chains per task: one right, one answering with a wrong-looking answer.
    cots = [c for t in tasks for c in (chain(t, t.answer, 0), chain(t, "0", 1))]
    # The pools are under test, not the chains: these stock chains are judged on form and answer only (the checks
    # that read a chain against its video are tests/test_verify.py's).
    verify = VerifyStage(VerifyConfig(checks=["format", "length", "language", "answer", "grounding", "near_duplicate"]))
    verified = verify.process_batch([(c, next(t for t in tasks if t.task_id == c.task_id)) for c in cots])
    negatives = NegativesStage(NegativesConfig(transcripts=False)).mine(views, tasks, verified)
    policy = ScriptedBackend(["A", "A", "B", None])  # right on "A" multiple-choice items only
    difficulty = DifficultyStage(policy, DifficultyConfig(k=4, prime="think", early_stop=False))  # all 4, one call
    diffs = difficulty.estimate(tasks, by_id)
    pools = PoolsStage(PoolsConfig(keep_prompt_answerable=True))  # every task gets rows (default: tests/test_skeleton)
    sft = pools.sft(tasks, verified, by_id)
    rl, rl_rejects = pools.rl(tasks, by_id, negatives, diffs, difficulty.keep)
    pairs = pools.pairs(tasks, verified, by_id, negatives)
    root = tmp_path_factory.mktemp("pools") / "ds"
    with DatasetWriter(root) as w:
        for v in views:
            for table in ("shots", "segments", "words", "frames", "evidence"):
                w.append(table, getattr(v, table))
        w.append("videos", [v.video for v in views])
        for table, rows in (("tasks", tasks), ("cot", verified), ("negatives", negatives), ("sft", sft),
                            ("rl", rl), ("pairs", pairs), ("rejects", task_rejects + rl_rejects)):  # fmt: skip
            w.append(table, rows)
        w.commit()
    return dict(views=views, tasks=tasks, cots=verified, sft=sft, rl=rl, pairs=pairs, diffs=diffs, root=root,
                policy=policy, rl_rejects=rl_rejects)  # fmt: skip


def test_sft_rows_are_accepted_chains_with_full_accuracy(curated):
    sft, tasks = curated["sft"], {t.task_id: t for t in curated["tasks"]}
    assert len(sft) == len(tasks)  # exactly the right chain of each task
    for row in sft:
        task = tasks[row.task_id]
        assert [m.role for m in row.messages] == ["system", "user", "assistant"]
        assert task.question in row.messages[1].content and "Transcript:" in row.messages[1].content
        answer = parse_completion(row.messages[2].content).answer
        assert answer_score(answer, task.answer, task.problem_type, task.options) == 1.0
        assert row.video_path.endswith(f"{row.video_id}.mp4") and row.keyframe_ids
        frames = {f.frame_id for v in curated["views"] for f in v.frames if v.video_id == row.video_id}
        assert set(row.keyframe_ids) <= frames and row.split == task.split


def test_rl_rows_carry_targets_difficulty_and_negatives(curated):
    rl = {r.task_id: r for r in curated["rl"]}
    diffs = {d.task_id: d for d in curated["diffs"]}
    for task in curated["tasks"]:
        d = diffs[task.task_id]
        assert (d.samples, d.errors) == (3, 1)
        if task.problem_type == "multiple choice" and task.answer == "A":
            assert d.correct == 2 and d.difficulty == pytest.approx(1 / 3)
        elif task.problem_type != "multiple choice":
            assert d.correct == 0 and d.difficulty == 1.0  # all wrong: kept by default
        row = rl[task.task_id]
        assert (row.solution, row.options, row.span, row.problem_type) == (
            task.answer, task.options, task.span, task.problem_type)  # fmt: skip
        assert row.difficulty == d.difficulty and [m.role for m in row.prompt] == ["system", "user"]
    span_rows = [r for r in curated["rl"] if r.problem_type == "span"]
    assert span_rows and all(len(r.negatives) >= 2 for r in span_rows)  # near-miss spans + the rejected chain
    assert curated["rl_rejects"] == []
    assert {r.prefill for r in curated["policy"].requests} == {"<think>"}
    assert len({r.seed for r in curated["policy"].requests}) == 4


def test_difficulty_keep_rules_and_pass_at_k():
    assert pass_at_k(4, 0, 1) == 0.0 and pass_at_k(4, 4, 1) == 1.0 and pass_at_k(4, 1, 1) == 0.25
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5) and pass_at_k(0, 0, 1) == 0.0
    default = DifficultyStage(ScriptedBackend(["A"]))
    strict = DifficultyStage(ScriptedBackend(["A"]), DifficultyConfig(drop_all_wrong=True))
    assert default.keep(Difficulty("t", 4, 4, 0, 0.0)).reason == "all_correct"
    assert default.keep(Difficulty("t", 4, 0, 0, 1.0)) is None
    assert strict.keep(Difficulty("t", 4, 0, 0, 1.0)).reason == "all_wrong"
    assert strict.keep(Difficulty("t", 0, 0, 4, 0.5)) is None  # backend failures are not the item's fault


def test_pairs_prefer_verifier_rejected_chains(curated):
    pairs = curated["pairs"]
    assert pairs and {p.reason for p in pairs} <= {"rejected_chain:wrong_answer", "near_miss_answer"}
    for p in pairs:
        assert p.chosen != p.rejected and parse_completion(p.chosen).well_formed
        assert [m.role for m in p.prompt] == ["system", "user"]
    assert any(p.reason == "rejected_chain:wrong_answer" for p in pairs)


def test_no_video_in_two_splits_duckdb(curated):
    con = connect(curated["root"])
    mixed = con.execute(
        """SELECT video_id, count(DISTINCT split) FROM (
               SELECT video_id, split FROM tasks UNION ALL SELECT video_id, split FROM sft
               UNION ALL SELECT video_id, split FROM rl UNION ALL SELECT video_id, split FROM pairs)
           GROUP BY video_id HAVING count(DISTINCT split) > 1"""
    ).fetchall()
    assert mixed == []
    splits = dict(con.execute("SELECT split, count(DISTINCT video_id) FROM tasks GROUP BY split").fetchall())
    assert splits.get("test", 0) >= 1 and splits.get("train", 0) >= 1 and sum(splits.values()) == 4
    # Every sft answer scores full accuracy against its task, checked from the stored rows.
    rows = con.execute(
        """SELECT s.messages[3].content, t.answer, t.problem_type, t.options
           FROM sft s JOIN tasks t USING (task_id)"""
    ).fetchall()
    assert rows and all(answer_score(parse_completion(m).answer, a, pt, o) == 1.0 for m, a, pt, o in rows)


def test_load_views_round_trips_without_image_bytes(curated):
    views = load_views(curated["root"])
    assert set(views) == {v.video_id for v in curated["views"]}
    for original in curated["views"]:
        loaded = views[original.video_id]
        assert [s.shot_id for s in loaded.shots] == [s.shot_id for s in original.shots]
        assert [(w.word, w.start) for w in loaded.words] == [(w.word, w.start) for w in original.words]
        assert [e.ocr_text for e in loaded.evidence] == [e.ocr_text for e in original.evidence]
        assert [f.phash for f in loaded.frames] == [f.phash for f in original.frames]
        assert all(f.jpeg == b"" for f in loaded.frames)


def test_export_video_r1_trl_and_hf(curated, tmp_path: Path):
    root = curated["root"]
    assert main(["export", str(root), "--format", "video-r1", "--out", str(tmp_path / "r1")]) == 0
    items = [i for f in sorted((tmp_path / "r1").glob("video_r1_*.json")) for i in json.loads(f.read_text())]
    assert len({i["task_id"] for i in items}) == len(curated["tasks"])
    for item in items:
        assert {"problem", "problem_type", "options", "data_type", "path", "solution", "process"} <= set(item)
        assert item["data_type"] == "video" and item["solution"].startswith("<answer>")
        assert item["process"].startswith("<think>") and item["process"].endswith("</think>")
    assert main(["export", str(root), "--format", "trl", "--out", str(tmp_path / "trl")]) == 0
    sft = pq.read_table(tmp_path / "trl" / "sft" / "train.parquet").to_pylist()
    assert [m["role"] for m in sft[0]["prompt"]] == ["system", "user"]
    assert [m["role"] for m in sft[0]["completion"]] == ["assistant"]
    grpo = pq.read_table(tmp_path / "trl" / "grpo" / "train.parquet")
    assert {"prompt", "solution", "problem_type", "options", "span"} <= set(grpo.column_names)
    dpo = pq.read_table(tmp_path / "trl" / "dpo" / "train.parquet").to_pylist()
    assert dpo[0]["chosen"][0]["role"] == "assistant" and dpo[0]["chosen"] != dpo[0]["rejected"]
    assert main(["export", str(root), "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    counts = sum(pq.read_metadata(f).num_rows for f in (tmp_path / "hf" / "sft").glob("*.parquet"))
    assert counts == len(curated["sft"])


def test_export_of_an_empty_dataset_is_a_user_error(tmp_path: Path, capsys):
    with DatasetWriter(tmp_path / "empty") as w:
        w.append("videos", [street_view().video])
        w.commit()
    assert main(["export", str(tmp_path / "empty"), "--format", "hf", "--out", str(tmp_path / "o")]) == 2
    assert "nothing to export" in capsys.readouterr().err
