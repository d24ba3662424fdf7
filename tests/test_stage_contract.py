"""Every stage follows one contract, declared once: the registry is the run order, declarations are consistent
with the data model, and the flow runs any stage through the same two helpers."""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from curation.collection import Batches, Collection
from curation.llm.factory import LLMConfig
from curation.registry import NAMES, STAGES, stages_until
from curation.stage import Rejected, Stage
from curation.views import view_tables
from flows.cache import StageCache
from flows.config import CurateConfig, load_config
from flows.perception import RunContext, run_one
from flows.synthesis import Backends, SynthesisSummary, run_stage
from schemas import TABLES, RejectRecord
from schemas.synthesis import acceptance_by_source
from tests.llm_standins import chat_reply
from tests.views import kitchen_view, street_view


def test_the_registry_declares_every_stage_once_in_an_order_that_runs() -> None:
    assert len(set(NAMES)) == len(NAMES) and list(CurateConfig.model_fields)[-len(NAMES):] == list(NAMES)
    sections = set(CurateConfig.model_fields)
    seen: list[str] = []
    for cls in STAGES:
        assert cls.name in sections, f"{cls.name}: no config section"
        assert isinstance(CurateConfig().model_dump()[cls.name], dict)
        assert isinstance(cls.version, int) and cls.version >= 1
        assert set(cls.reads) <= set(TABLES) and set(cls.writes) <= set(TABLES), cls.name
        assert set(cls.needs) <= set(seen), f"{cls.name} needs a stage that runs after it"
        assert set(cls.uses) <= sections
        # A per-video stage implements process(item); a collection stage run(collection, batches).
        own = "process" if cls.per_video else "run"
        assert getattr(cls, own) is not getattr(Stage, own), f"{cls.name} does not implement {own}"
        seen.append(cls.name)
    per_video = [c.per_video for c in STAGES]
    assert per_video == sorted(per_video, reverse=True)  # every per-video stage runs before the collection
    written = {t for cls in STAGES for t in cls.writes}
    assert written == set(TABLES) - {"rejects"}  # rejects: written by the flow from every stage's Rejected
    assert stages_until("verify")[-1].name == "verify" and len(stages_until("probe")) == 1


def test_every_stage_class_is_registered() -> None:
    """A `Stage` subclass anywhere in the packages is in the registry: an unregistered stage would never run."""
    root = Path(__file__).resolve().parents[1]
    found = set()
    for path in sorted(root.glob("*/**/*.py")):
        if path.parts[len(root.parts)] not in ("flows", "curation", "trainers", "schemas", "data_cards"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(_names_stage(b) for b in node.bases):
                found.add(f"{path.relative_to(root)}:{node.name}")
    assert {f.split(":")[1] for f in found} == {c.__name__ for c in STAGES}, sorted(found)


def _names_stage(base: ast.expr) -> bool:
    node = base.value if isinstance(base, ast.Subscript) else base
    return isinstance(node, ast.Name) and node.id == "Stage"


EXAMPLE_STAGE = '''"""Drops tasks whose question is shorter than `min_words` words: an example of a new stage."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from curation.collection import Batches, Collection, StageRows
from curation.stage import Rejected, Stage, StageConfig


class ShortQuestionsConfig(StageConfig):
    min_words: int = Field(4, ge=1)


class ShortQuestionsStage(Stage[ShortQuestionsConfig, Any, Any]):
    name = "short_questions"
    Config = ShortQuestionsConfig
    reads = ("tasks",)
    needs = ("tasks",)

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        short = [t for t in collection.rows("tasks") if len(t.question.split()) < self.config.min_words]
        why = [Rejected("short_question", t.question, t.video_id, t.task_id) for t in short]
        return StageRows(rejected=why, stats={"short_questions": len(short)})
'''

EXAMPLE_RUN = '''
import json, sys
from pathlib import Path
from curation.collection import Collection
from curation.registry import NAMES, STAGES, stages_until
from flows.cache import StageCache
from flows.config import StageTimeouts, load_config
from flows.perception import RunContext
from flows.synthesis import Backends, SynthesisSummary, run_stage
from tests.views import kitchen_view, street_view

config = load_config(None, ["short_questions.min_words=12", "tasks.max_per_video=2"])
views = {v.video_id: v for v in (street_view(), kitchen_view())}
ctx = RunContext(dataset=Path(sys.argv[1]), config=config, cache=StageCache(Path(sys.argv[1])), pool=None)
collection, summary = Collection(Path(sys.argv[1]), views, config, Backends().get), SynthesisSummary()
rejects = [r for cls in stages_until("short_questions") if not cls.per_video
           for r in run_stage(ctx, cls, collection, summary)]
print(json.dumps({"names": NAMES, "min_words": config.short_questions.min_words,
                  "timeout": StageTimeouts().short_questions, "key": ctx.keys["short_questions"],
                  "tasks": [t.question for t in collection.rows("tasks")],
                  "rejects": [[r.stage, r.reason, r.detail] for r in rejects if r.stage == "short_questions"],
                  "summary": summary.to_json()["other"]}))
'''


def test_a_new_stage_is_its_module_and_one_registry_entry(tmp_path: Path) -> None:
    """A copy of the packages gets a real new stage: its module and its entry in the registry, nothing else. Its
    config section, `run.timeouts` field, `--until` name, cache key, rejects and stats then all exist."""
    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "tree"
    for package in ("flows", "curation", "trainers", "schemas", "data_cards"):
        shutil.copytree(root / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tests").mkdir()
    for name in ("__init__.py", "views.py"):
        shutil.copy(root / "tests" / name, copy / "tests" / name)
    (copy / "curation" / "short_questions.py").write_text(EXAMPLE_STAGE)
    registry = copy / "curation" / "registry.py"
    text = registry.read_text().replace("from curation.tasks import TasksStage\n", "from curation.tasks import "
        "TasksStage\nfrom curation.short_questions import ShortQuestionsStage\n")  # fmt: skip
    registry.write_text(text.replace("    TasksStage,\n", "    TasksStage,\n    ShortQuestionsStage,\n"))
    env = {**os.environ, "PYTHONPATH": str(copy)}
    done = subprocess.run([sys.executable, "-c", EXAMPLE_RUN, str(tmp_path / "ds")], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["names"][out["names"].index("tasks") + 1] == "short_questions"
    assert out["min_words"] == 12 and out["timeout"] is None and len(out["key"]) == 16
    short = [q for q in out["tasks"] if len(q.split()) < 12]
    assert short and len(short) < len(out["tasks"])  # the stage judged the real tasks, and kept some
    assert sorted(d for _, _, d in out["rejects"]) == sorted(short)
    assert {(s, r) for s, r, _ in out["rejects"]} == {("short_questions", "short_question")}
    assert out["summary"] == {"short_questions.short_questions": len(short)}  # its stat reached the summary


def test_every_task_generator_has_a_skeleton_builder_or_says_it_has_none() -> None:
    """A new generator without a builder would silently be drafted in rationale mode; it must say so instead."""
    from curation.skeleton import BUILDERS, NO_BUILDER
    from curation.tasks import GENERATORS

    assert set(GENERATORS) - set(BUILDERS) - NO_BUILDER == set()
    assert not set(BUILDERS) & NO_BUILDER


def test_views_hold_what_the_per_video_stages_write() -> None:
    assert view_tables() == ["shots", "frames", "segments", "words", "evidence"]


def test_a_per_video_rejection_is_a_reason_code_and_cached(tmp_path: Path) -> None:
    """Real probe on a file that is no video: a rejected outcome with a reason, served from the cache after."""
    from flows.workers import StagePool

    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video\n")
    ctx = RunContext(dataset=tmp_path / "ds", config=load_config(None), cache=StageCache(tmp_path / "ds"),
                     pool=StagePool())  # fmt: skip
    key = STAGES[0].item_key(bogus)
    out = run_one("probe", key, bogus, ctx)
    assert (out.status, out.cache_hit) == ("rejected", False) and out.reason and out.reason.islower()
    again = run_one("probe", key, bogus, ctx)
    assert (again.status, again.reason, again.cache_hit) == ("rejected", out.reason, True)


def small_config(url: str) -> CurateConfig:
    """The real collection stages; draft and the policy are a scripted endpoint, refinement is deterministic."""
    endpoint = LLMConfig(backend="openai", base_url=url, model="scripted", max_retries=0)
    config = load_config(None, ["tasks.max_per_video=1", "negatives.transcripts=false", "difficulty.k=2"])
    return config.model_copy(update={
        "draft": config.draft.model_copy(update={"llm": endpoint}),
        "refine": config.refine.model_copy(update={"llm": None}),
        "policy": endpoint,
    })  # fmt: skip


def run_collection(tmp_path: Path, config: CurateConfig) -> tuple[Collection, SynthesisSummary, list[RejectRecord]]:
    views = {v.video_id: v for v in (street_view(), kitchen_view())}
    ctx = RunContext(dataset=tmp_path, config=config, cache=StageCache(tmp_path), pool=None)  # type: ignore[arg-type]
    backends = Backends()
    summary = SynthesisSummary()
    collection = Collection(tmp_path, views, config, backends.get)
    rejects: list[RejectRecord] = []
    try:
        for cls in STAGES:
            if not cls.per_video:
                rejects += run_stage(ctx, cls, collection, summary)
    finally:
        backends.close()
    return collection, summary, rejects


def test_every_collection_stage_runs_through_one_helper(tmp_path: Path, chat_server: Any) -> None:
    server = chat_server(lambda body: chat_reply("1, it is shown clearly."))
    collection, summary, rejects = run_collection(tmp_path, small_config(server.base_url))
    collection_stages = [c.name for c in STAGES if not c.per_video]
    assert list(collection.results) == collection_stages == list(summary.stage_wall)
    for cls in STAGES:
        if not cls.per_video:
            assert set(collection.results[cls.name].rows) == set(cls.writes), cls.name
    tasks, cots = collection.rows("tasks"), collection.rows("cot")
    # Tasks no pool takes whatever their chain (the prompt prints the answer) are not drafted.
    answerable = {t.task_id for t in tasks if t.prompt_answerable}
    assert summary.not_drafted == len(answerable) and not answerable & {c.task_id for c in cots}
    assert summary.tasks == len(tasks) > 0 and summary.drafted == len(cots) == len(tasks) - len(answerable) > 0
    assert sum(summary.verdicts.values()) == len(cots)  # every chain has a verdict
    # Per verifier check: how many chains it ran on and failed, as the chains record it.
    assert summary.checks and all(0 <= n["failed"] <= n["ran"] <= len(cots) for n in summary.checks.values())
    assert sum(n["failed"] for n in summary.checks.values()) == sum(len(c.checks_failed) for c in cots)
    # Per source (cot.source), and the tasks the prompt answers, as the chains and tasks record them.
    assert summary.by_source == acceptance_by_source(cots) and sum(a.chains for a in summary.by_source.values()) == len(
        cots
    )
    assert summary.prompt_answerable_tasks == sum(t.prompt_answerable for t in tasks)
    doc = summary.to_json()
    assert set(doc["sources"]) == set(summary.by_source) and "prompt_answerable_share" in doc
    # Every number a stage reports reaches the summary: under its own field, or under other["stage.stat"].
    for name, result in collection.results.items():
        for stat, value in result.stats.items():
            kept = summary.other.get(f"{name}.{stat}", getattr(summary, stat, None))
            assert kept == value, (name, stat)
    assert doc["not_estimated"] == collection.results["difficulty"].stats["not_estimated"]
    assert summary.pools == {t: len(collection.rows(t)) for t in ("sft", "rl", "pairs")}
    # Rejections travel one way: a stage's Rejected becomes a `rejects` row with that stage's provenance.
    assert rejects and {r.stage for r in rejects} <= {"tasks", "pools"}
    for r in rejects:
        assert r.reason and r.video_id in collection.views and r.provenance is not None
        assert r.provenance.stage == r.stage
    # The LLM work is cached per item: a second run asks the endpoint nothing.
    asked = len(server.bodies)
    assert asked > 0
    _, again, _ = run_collection(tmp_path, small_config(server.base_url))
    assert (again.ran["draft"], again.ran["difficulty"], len(server.bodies)) == (0, 0, asked)
    assert again.cached["draft"] == summary.ran["draft"] and again.cached["difficulty"] == summary.ran["difficulty"]


def test_collection_stages_run_without_the_flow() -> None:
    """Library use: a stage and `Batches`, no Prefect, no cache."""
    from curation.tasks import TasksStage

    views = {v.video_id: v for v in (street_view(), kitchen_view())}
    collection = Collection(Path("unused"), views, load_config(None), lambda cfg: pytest.fail("no LLM needed"))
    result = TasksStage.build(collection).run(collection, Batches())
    assert result.rows["tasks"] and all(isinstance(r, Rejected) and r.video_id in views for r in result.rejected)


def test_once_its_timeout_passes_a_stage_starts_no_batch_and_the_rest_are_timeouts(caplog) -> None:
    """The deadline is checked between batches: the batch running when it passes finishes, the others never start."""
    started: list[list[int]] = []

    def slow(batch: list[int]) -> list[str]:
        started.append(batch)
        time.sleep(0.3)
        return [f"done {i}" for i in batch]

    batches = Batches(size=2, timeout=0.2, stage="draft")
    with caplog.at_level(logging.WARNING, logger="curation.collection"):
        out = batches.map(
            ["a", "b", "c", "d", "e"], [1, 2, 3, 4, 5], slow, "cot", late=lambda i, why: f"{why.reason} {i}"
        )
    assert started == [[1, 2]] and out == ["done 1", "done 2", "timeout 3", "timeout 4", "timeout 5"]
    assert (batches.ran, batches.timed_out) == (2, 3)
    assert "draft: its timeout (0.2 s, run.timeouts.draft) passed; the 3 items not started get reason `timeout`" in (
        caplog.text
    )


def test_a_collection_stage_timeout_rejects_what_it_did_not_start_and_a_rerun_does_it(
    tmp_path: Path, chat_server: Any
) -> None:
    server = chat_server(lambda body: chat_reply("1, it is shown clearly."))
    config = small_config(server.base_url)
    hurried = config.model_copy(update={"run": load_config(None, ["run.timeouts.draft=0.000001"]).run})
    collection, summary, _ = run_collection(tmp_path, hurried)
    cots = collection.rows("cot")
    assert cots and {c.reject_reason for c in cots} == {"draft:timeout"} and not any(c.accepted for c in cots)
    assert summary.ran["draft"] == 0 and summary.verdicts  # the later stages ran on what there was
    # Timeouts are transient: nothing was cached, so the next run (no timeout) drafts every task.
    collection, again, _ = run_collection(tmp_path, config)
    assert (again.cached["draft"], again.ran["draft"]) == (0, len(cots))
    assert "draft:timeout" not in {c.reject_reason for c in collection.rows("cot")}


def test_batches_are_even_and_a_multiple_of_the_workers() -> None:
    """No worker idles while another finishes a longer batch: 24 tasks on 2 workers are 12 + 12, not 16 + 8."""
    seen: list[list[int]] = []

    def record(batch: list[int]) -> list[int]:
        seen.append(batch)
        return batch

    cases = ((2, 24, [12, 12]), (2, 57, [15, 15, 15, 12]), (2, 5, [3, 2]), (1, 24, [12, 12]), (1, 40, [14, 14, 12]),
             (4, 3, [1, 1, 1]), (2, 0, []))  # fmt: skip
    for workers, n, expected in cases:
        seen.clear()
        out = Batches(size=16, workers=workers).map([str(i) for i in range(n)], list(range(n)), record, "cot",
                                                    late=lambda i, why: -1)  # fmt: skip
        assert [len(b) for b in seen] == expected and out == list(range(n)), (workers, n)


def test_a_collection_stage_that_raises_is_one_error_naming_it_and_publishes_nothing(
    pipeline_dataset: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection stage's exception (a bug, not a bad item) stops the run with one line naming the stage; the
    collection tables keep what the previous revision holds."""
    from curation.negatives import NegativesStage
    from flows.curate import run_curate
    from flows.errors import UserError
    from schemas.store import Dataset

    src, _ = pipeline_dataset
    ds = tmp_path / "ds"
    shutil.copytree(src, ds)
    before = {t: Dataset(ds).read(t).to_pylist() for t in ("tasks", "cot", "sft", "rejects")}

    def broken(self: Any, collection: Any, batches: Any) -> Any:
        raise RuntimeError("a bug in the stage")

    monkeypatch.setattr(NegativesStage, "run", broken)
    config = load_config(src.parent / "small.yaml", [])
    with pytest.raises(UserError) as failed:
        run_curate(sorted(src.parent.glob("*.mp4")), ds, config, show_progress=False, card=False)
    assert str(failed.value) == ("the negatives stage failed (RuntimeError: a bug in the stage); no collection "
                                 "results of this run were published")  # fmt: skip
    assert {t: Dataset(ds).read(t).to_pylist() for t in before} == before
