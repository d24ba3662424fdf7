"""pass@K difficulty: early stopping settles the same bucket as all K samples while drawing fewer, samples come
from one prompt encoding per task, the prompt is format-primed, and the policy is recorded."""

from __future__ import annotations

from dataclasses import replace

import pytest

from curation.difficulty import (
    PREFILLS,
    DifficultyConfig,
    DifficultyStage,
    bucket,
    resolve_prime,
    settled,
)
from curation.llm.base import GenRequest, GenResult, LLMBackend, Settle
from curation.pools import PoolsConfig, PoolsStage
from curation.tasks import TasksConfig, TasksStage
from schemas import TaskRecord
from tests.views import kitchen_view, street_view

K = 6


class ByTaskAndSeed(LLMBackend):
    """A deterministic policy: sample j (seed j) of the task whose question the prompt holds answers right when
    `script[task_index][j]` is "R", else with a wrong answer. Counts the samples drawn and the `sample` calls."""

    model_id = "by-task-and-seed"

    def __init__(self, tasks: list[TaskRecord], script: list[str]) -> None:
        self.tasks, self.script = tasks, script
        self.drawn = 0
        self.sample_calls: list[tuple[int, int]] = []  # (requests, k) per call
        self.generate_calls: list[int] = []  # requests per call
        self.prefills: set[str] = set()
        self.stops: set[tuple[str, ...]] = set()

    def _answer(self, req: GenRequest) -> GenResult:
        self.drawn += 1
        self.prefills.add(req.prefill)
        self.stops.add(tuple(req.stop))
        user = req.messages[-1].content
        i = next(n for n, t in enumerate(self.tasks) if t.question in user)
        task, right = self.tasks[i], self.script[i][req.seed or 0] == "R"
        if self.script[i][req.seed or 0] == "E":
            return GenResult.failed("prompt_too_long", "the prompt does not fit the policy's context")
        answer = task.answer if right else "no such answer 12345"
        return GenResult(f"{answer}" if req.prefill.endswith("<answer>") else f" x</think><answer>{answer}")

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        self.generate_calls.append(len(requests))
        return [self._answer(r) for r in requests]

    def sample(self, requests: list[GenRequest], k: int, settle: Settle | None = None) -> list[list[GenResult]]:
        self.sample_calls.append((len(requests), k))
        return super().sample(requests, k, settle)


@pytest.fixture(scope="module")
def tasks_views() -> tuple[list[TaskRecord], dict]:
    views = [street_view(), kitchen_view()]
    tasks, _ = TasksStage(TasksConfig(max_per_video=3)).generate(views)
    # distinct questions, so the stand-in can tell the tasks apart from the prompt
    seen: set[str] = set()
    tasks = [t for t in tasks if not (t.question in seen or seen.add(t.question))]  # type: ignore[func-returns-value]
    assert len(tasks) >= 4
    return tasks[:5], {v.video_id: v for v in views}


SCRIPTS = ["RRRRRR", "WWWWWW", "RWRWRW", "RRRWRR", "WWWWWR"]  # all right, all wrong, mixed early, mixed late ×2


def test_early_stopping_settles_the_same_bucket_as_all_k_and_stops_early(tasks_views):
    tasks, views = tasks_views
    script = SCRIPTS[: len(tasks)]
    full_policy, early_policy = ByTaskAndSeed(tasks, script), ByTaskAndSeed(tasks, script)
    full = DifficultyStage(full_policy, DifficultyConfig(k=K, early_stop=False)).estimate(tasks, views)
    early = DifficultyStage(early_policy, DifficultyConfig(k=K)).estimate(tasks, views)
    expect = {"RRRRRR": "all_correct", "WWWWWW": "all_wrong", "RWRWRW": "mixed", "RRRWRR": "mixed",
              "WWWWWR": "mixed"}  # fmt: skip
    for f, e, s in zip(full, early, script, strict=True):
        assert bucket(f.correct, f.samples) == bucket(e.correct, e.samples) == expect[s]
    assert [f.samples for f in full] == [K] * len(tasks)
    # the mixed-early task stops after the first round (3 of 6); the others need the second round
    assert early[2].samples == 3 and (early[2].correct, early[2].difficulty) == (2, pytest.approx(1 / 3))
    assert full[2].difficulty == pytest.approx(0.5)  # the estimate is coarser, its bucket the same
    assert [e.samples for i, e in enumerate(early) if i != 2] == [K] * (len(tasks) - 1)
    assert early_policy.drawn == len(tasks) * K - 3 < full_policy.drawn == len(tasks) * K
    # one `sample` call with every task; a backend without in-call stopping draws it in two rounds (K/2, the rest)
    assert full_policy.sample_calls == early_policy.sample_calls == [(len(tasks), K)]
    assert full_policy.generate_calls == [len(tasks) * K]
    assert early_policy.generate_calls == [len(tasks) * 3, (len(tasks) - 1) * 3]
    # keep rule on the settled buckets: all-correct dropped, the rest kept
    stage = DifficultyStage(early_policy, DifficultyConfig(k=K))
    assert [(stage.keep(d).reason if stage.keep(d) else None) for d in early] == [  # type: ignore[union-attr]
        "all_correct",
        *[None] * (len(tasks) - 1),
    ]


def test_seeds_continue_across_rounds_so_samples_match_the_full_run(tasks_views):
    tasks, views = tasks_views
    seeds: list[int] = []

    class Seeds(ByTaskAndSeed):
        def _answer(self, req: GenRequest) -> GenResult:
            seeds.append(req.seed or 0)
            return super()._answer(replace(req, seed=(req.seed or 0) - 10))

    DifficultyStage(Seeds(tasks[:1], ["WWWWWW"]), DifficultyConfig(k=K, seed=10)).estimate(tasks[:1], views)
    assert seeds == list(range(10, 10 + K))


def test_the_policy_answers_in_format_and_is_recorded(tasks_views):
    tasks, views = tasks_views
    assert resolve_prime("auto", None) == "answer" and resolve_prime("auto", "/models/sft") == "think"
    assert settled(1, 2) and not settled(0, 3) and not settled(3, 3) and not settled(0, 0)
    policy = ByTaskAndSeed(tasks, SCRIPTS[: len(tasks)])
    stage = DifficultyStage(policy, DifficultyConfig(k=2))
    found = stage.estimate(tasks, views)
    assert policy.prefills == {PREFILLS["answer"]} == {"<think>\n</think>\n<answer>"}
    assert policy.stops == {("</answer>", "\n")}  # the answer alone: its first line
    assert found[0].correct == found[0].samples == 2  # the bare answer after the primed prefill is scored
    assert all(d.policy == "by-task-and-seed; prime=answer" for d in found) and stage.models() == [found[0].policy]
    thinker = ByTaskAndSeed(tasks, SCRIPTS)
    think = DifficultyStage(thinker, DifficultyConfig(k=2), policy_model="/models/sft")
    assert think.prime == "think" and think.estimate(tasks[:1], views)[0].correct == 2
    assert thinker.stops == {("</answer>",)}  # reasoning spans lines
    # the RL rows say which policy made their difficulty (the card's provenance table lists it under pools)
    rl, _ = PoolsStage(PoolsConfig(keep_prompt_answerable=True)).rl(tasks, views, (), found, stage.keep)
    assert rl and all("difficulty policy: by-task-and-seed; prime=answer" in r.provenance.models for r in rl)  # type: ignore[union-attr]


def test_identity_names_the_prime_so_changing_it_recomputes():
    from flows.config import load_config

    run = load_config(None, [])
    answer = DifficultyStage.identity(run.difficulty, run)
    think = DifficultyStage.identity(run.difficulty.model_copy(update={"prime": "think"}), run)
    assert answer[-1] == "prime=answer" and think[-1] == "prime=think" and "ctranslate2" in answer[0]


def test_tasks_no_rl_row_can_take_are_not_estimated_and_the_pool_is_the_same(tasks_views):
    """A task the pools leave out whatever its difficulty (here: prompt-answerable) costs no policy samples, and the
    RL pool and its rejects are what estimating every task gives."""
    from pathlib import Path
    from types import SimpleNamespace

    from curation.collection import Batches, Collection, StageRows

    tasks, views = tasks_views
    tasks = [replace(t, prompt_answerable=i % 2 == 0) for i, t in enumerate(tasks)]
    config = SimpleNamespace(policy=SimpleNamespace(model=None), difficulty=DifficultyConfig(k=K), pools=PoolsConfig())
    policy = ByTaskAndSeed(tasks, SCRIPTS)
    coll = Collection(Path("."), views, config, llm=lambda _: policy, results={"tasks": StageRows({"tasks": tasks})})
    some = DifficultyStage.build(coll).run(coll, Batches(4))
    every = DifficultyStage(ByTaskAndSeed(tasks, SCRIPTS), config.difficulty).run(coll, Batches(4))
    assert {d.task_id for d in some.extra.difficulties} == {t.task_id for t in tasks if not t.prompt_answerable}
    assert some.stats["not_estimated"] == sum(t.prompt_answerable for t in tasks) > 0
    assert len(every.extra.difficulties) == len(tasks)
    pools = PoolsStage(PoolsConfig())
    rows_some, rejects_some = pools.rl(tasks, views, (), some.extra.difficulties, some.extra.keep)
    rows_every, rejects_every = pools.rl(tasks, views, (), every.extra.difficulties, every.extra.keep)
    assert rows_some == rows_every and rows_some
    assert [(r.item_id, r.reason) for r in rejects_some] == [(r.item_id, r.reason) for r in rejects_every]
    assert {r.reason for r in rejects_some} >= {"prompt_answerable"}


def test_a_task_no_sample_answered_has_no_difficulty_and_a_reason(tasks_views):
    """Every sample of task 1 failed (its prompt does not fit): its difficulty is null, never a made-up 0.5; the
    stage says why in a `rejects` row, the RL row keeps the item with a null difficulty, and the stats count it."""
    from pathlib import Path
    from types import SimpleNamespace

    from curation.collection import Batches, Collection, StageRows

    tasks, views = tasks_views
    config = SimpleNamespace(policy=SimpleNamespace(model=None), difficulty=DifficultyConfig(k=K), pools=PoolsConfig())
    script = ["RWRWRW", "EEEEEE", "RRRWRR"]
    policy = ByTaskAndSeed(tasks[:3], script)
    coll = Collection(Path("."), views, config, llm=lambda _: policy,
                      results={"tasks": StageRows({"tasks": tasks[:3]})})  # fmt: skip
    out = DifficultyStage.build(coll).run(coll, Batches(4))
    est = {d.task_id: d for d in out.extra.difficulties}
    failed = est[tasks[1].task_id]
    assert (failed.difficulty, failed.reason, failed.samples, failed.errors) == (None, "prompt_too_long", 0, K)
    measured = est[tasks[0].task_id]
    assert measured.difficulty is not None and 0 < measured.difficulty < 1 and measured.reason is None
    assert [(r.reason, r.item_id) for r in out.rejected] == [("prompt_too_long", tasks[1].task_id)]
    assert out.stats["not_measured"] == 1
    rows, _ = PoolsStage(PoolsConfig()).rl(tasks[:3], views, (), out.extra.difficulties, out.extra.keep)
    by_task = {r.task_id: r.difficulty for r in rows}
    assert by_task[tasks[1].task_id] is None and by_task[tasks[0].task_id] == measured.difficulty


def test_the_summary_warns_when_a_stage_could_not_measure_and_when_every_call_failed() -> None:
    from collections import Counter
    from io import StringIO

    from rich.console import Console

    from flows.summary import RunSummary, print_summary
    from flows.synthesis import SynthesisSummary

    def printed(not_measured: int, ran: int) -> str:
        syn = SynthesisSummary(ran=Counter({"difficulty": ran}))
        syn.absorb({"not_measured": not_measured}, "difficulty")
        out = StringIO()
        print_summary(RunSummary(synthesis=syn), "DS", Console(file=out, width=200))
        return out.getvalue()

    assert "difficulty could not measure 3 of 10" in printed(3, 10) and "every LLM call failed" not in printed(3, 10)
    assert "difficulty could not measure 10 of 10" in printed(10, 10) and "every LLM call failed" in printed(10, 10)
    assert "could not measure" not in printed(0, 10)
