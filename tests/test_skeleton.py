"""Evidence-first drafting: skeletons built from a task's evidence, the polish check, and prompt-answerable tasks.

Two hand-made videos with known evidence (a street: two people in red, a car by an "OPEN 24H" sign, a dog on
grass, speech; a shop: a bus by an "EXIT" sign, a bicycle by "SALE NOW", speech), and the real task generators
over them, so every generator's own questions are drafted.
"""

from __future__ import annotations

import re

import pytest

from curation.draft import DraftConfig, DraftStage
from curation.llm.base import GenRequest, GenResult, LLMBackend
from curation.pools import PoolsConfig, PoolsStage
from curation.refine import RefineConfig, RefineStage
from curation.skeleton import build_skeleton, facts, polish_problem
from curation.stage import Rejected
from curation.tasks.answerable import is_prompt_answerable, prompt_answerable_share
from curation.tasks.base import TasksConfig, TasksStage
from schemas import (
    CotRecord,
    TaskRecord,
    VideoView,
)
from schemas.synthesis import acceptance_by_source
from tests.skeleton_views import shop, street
from trainers.citations import check_citations
from trainers.claims import check_chain, is_negated, split_sentences
from trainers.rewards import parse_completion
from trainers.textview import text_view

TIME = re.compile(r"\[(\d+\.\d+)(?:–(\d+\.\d+))?s\]")


@pytest.fixture(scope="module")
def collection() -> tuple[list[TaskRecord], dict[str, VideoView]]:
    views = [street(), shop()]
    tasks, _ = TasksStage(TasksConfig(max_per_video=3, num_options=3, ordering_shots=3)).generate(views)
    return tasks, {v.video_id: v for v in views}


def option(task: TaskRecord) -> str:
    """The chosen option's text."""
    return next(o.split(". ", 1)[1] for o in task.options if o.startswith(task.answer + "."))


def cited_times(think: str) -> set[float]:
    return {float(x) for m in TIME.finditer(think) for x in m.groups() if x}


# ---- skeletons ---------------------------------------------------------------------------------------


def test_a_skeleton_per_problem_type_is_evidence_bound_and_states_the_deciding_evidence(collection):
    tasks, views = collection
    kinds = {(t.generator, t.problem_type) for t in tasks}
    assert {p for _, p in kinds} >= {"multiple choice", "numerical", "OCR", "span", "ordering", "box"}
    assert {g for g, _ in kinds} >= {"visible", "counting", "ocr", "numeric", "grounding", "ordering", "boxes",
                                     "absence"}  # fmt: skip
    for task in tasks:
        view = views[task.video_id]
        sk = build_skeleton(task, view)
        assert sk is not None, task.question
        where = f"{task.generator}: {sk.think}"
        report = check_citations(sk.think, view)
        assert report.checked > 0 and report.errors == [], where
        assert check_chain(sk.think, view).unsupported == [], where
        assert sk.answer == task.answer
        q = task.question
        if task.generator == "visible":
            shot = next(s for s in view.shots if s.shot_id == task.evidence_ids[0])
            assert option(task) in sk.think and {shot.start, shot.end} <= cited_times(sk.think), where
            assert f"option {task.answer}" in sk.think
        elif task.generator == "absence":
            subject = re.search(r'"([^"]+)"', q).group(1)  # type: ignore[union-attr]
            present = option(task) == "Yes"  # asked about what is there too: stated where it is, not negated
            assert any(subject in s and is_negated(s) != present for s in split_sentences(sk.think)), where
        elif task.generator == "counting" and "shots" in q:
            assert f"{task.answer} shots" in sk.think and len(TIME.findall(sk.think)) >= int(task.answer), where
        elif task.generator == "counting":
            label = re.match(r"How many (\w+)", q).group(1)  # type: ignore[union-attr]
            assert re.search(rf"\b{task.answer} {label[:3]}", sk.think), where
        elif task.generator == "numeric":
            assert re.search(rf"\b{re.escape(task.answer)} seconds\b|\[{float(task.answer):.2f}s\]", sk.think), where
        elif task.generator == "ocr":
            assert f'"{task.answer}"' in sk.think, where
        elif task.generator == "grounding":
            assert task.span is not None and set(task.span) <= cited_times(sk.think)
            assert re.search(r'"([^"]+)"', q).group(0) in sk.think and " says " in sk.think, where  # type: ignore[union-attr]
        elif task.generator == "ordering":
            clips = [int(c) for c in task.answer.split(", ")]
            at = [sk.think.index(f"Clip {c} ") for c in clips]
            assert at == sorted(at), where  # each clip, with its shot's time, in time order
        elif task.generator == "boxes":
            for t in re.findall(r'"time": ([\d.]+)', task.answer):
                assert f"@ {float(t):.2f}s]" in sk.think, where


def test_a_task_without_known_evidence_gets_no_skeleton():
    user = TaskRecord("u", "a" * 16, "user", "free-form", "What is the mood of the video?", "calm")
    assert build_skeleton(user, street()) is None


def test_optional_sentences_the_evidence_does_not_support_are_left_out(collection):
    tasks, views = collection
    view = views["b" * 16]
    task = next(
        t for t in tasks if t.video_id == view.video_id and t.generator == "visible" and "objects" in t.question
    )
    assert option(task) in ("bus", "cat") and task.evidence_ids[0] == view.shots[0].shot_id
    good = build_skeleton(task, view)
    assert good is not None and "None of the other options" in good.think
    # A distractor the shot's keyframe does show too (the bus and the cat are in one frame): "none of the other
    # options is seen there" would be false, so the sentence is left out.
    other = ({"bus", "cat"} - {option(task)}).pop()
    bad = TaskRecord("x", view.video_id, "visible", task.problem_type, task.question, "A",
                     [f"A. {option(task)}", f"B. {other}"], evidence_ids=task.evidence_ids)  # fmt: skip
    sk = build_skeleton(bad, view)
    assert sk is not None and "None of the other options" not in sk.think and f"a {option(task)}" in sk.think
    assert check_chain(sk.think, view).unsupported == []


# ---- polishing -------------------------------------------------------------------------------------


class Rewriter(LLMBackend):
    """A stand-in drafting LLM that answers each polish request with `rewrite(skeleton)`."""

    model_id = "rewriter"

    def __init__(self, rewrite) -> None:  # noqa: ANN001 - a plain function
        self.rewrite = rewrite
        self.requests: list[GenRequest] = []

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        self.requests += requests
        out = []
        for r in requests:
            notes = r.messages[-1].content.split("Notes: ", 1)[1].split("\n", 1)[0]
            out.append(GenResult(text=self.rewrite(notes)))
        return out


def _draft(task: TaskRecord, view: VideoView, rewrite) -> CotRecord:  # noqa: ANN001
    stage = DraftStage(DraftConfig(), backend=Rewriter(rewrite))
    (cot,) = stage.process_batch([(task, view)])
    assert isinstance(cot, CotRecord)
    return cot


def test_a_rewrite_that_adds_a_number_or_drops_a_cited_time_is_refused_and_the_skeleton_kept(collection):
    tasks, views = collection
    task = next(t for t in tasks if t.generator == "counting" and "people" in t.question)
    view = views[task.video_id]
    sk = build_skeleton(task, view)
    assert sk is not None

    def adds_a_number(notes: str) -> str:
        return notes.replace("shows 2 people.", "shows 2 people and 3 cars.")

    def drops_a_time(notes: str) -> str:
        return notes.replace(" [0.00–4.00s]", "")

    def faithful(notes: str) -> str:
        return notes.replace("In shot 1 [0.00–4.00s], every keyframe", "Every keyframe of shot 1 [0.00–4.00s]").replace(
            "In shot 1 [0.00–4.00s], the keyframe", "The keyframe of shot 1 [0.00–4.00s]"
        )

    assert "adds numbers ['3']" in (polish_problem(adds_a_number(sk.think), sk.think, view) or "")
    assert "drops times ['[0.00–4.00s]']" in (polish_problem(drops_a_time(sk.think), sk.think, view) or "")
    assert polish_problem(faithful(sk.think), sk.think, view) is None
    assert facts(faithful(sk.think), view) == facts(sk.think, view)

    for rewrite in (adds_a_number, drops_a_time, lambda notes: "shot 1 shot 1 shot 1 shot 1 [0.00–4.00s] " * 3):
        cot = _draft(task, view, rewrite)
        assert cot.source == "skeleton" and parse_completion(cot.draft).think == f"{sk.think} So the answer is 2."
    cot = _draft(task, view, faithful)
    assert cot.source == "polished" and cot.draft.startswith(f"<think>{faithful(sk.think)} So the answer is 2.")
    assert cot.predicted_answer == task.answer and cot.draft.endswith("<answer>2</answer>")
    # the drafted skeleton goes through refinement unchanged in substance and stays grounded
    (refined,) = RefineStage(RefineConfig(llm=None)).process_batch([(cot, task, view)])
    assert isinstance(refined, CotRecord) and refined.grounding == 1.0 and refined.source == "polished"


def test_a_rewrite_that_names_a_new_object_or_changes_a_quote_is_refused(collection):
    tasks, views = collection
    task = next(t for t in tasks if t.generator == "ocr")
    view = views[task.video_id]
    sk = build_skeleton(task, view)
    assert sk is not None
    assert "adds things" in (polish_problem(sk.think.replace("the text", "a dog and the text"), sk.think, view) or "")
    changed = sk.think.replace(f'"{task.answer}"', '"OPEN ALL DAY"')
    assert "quotes" in (polish_problem(changed, sk.think, view) or "")


def test_draft_modes_and_the_answer_hint_alias():
    def config(**values: object) -> DraftConfig:  # as a config file or `--set draft.…` gives them
        return DraftConfig.model_validate(values)

    assert DraftConfig().mode == "skeleton" and DraftConfig().answer_hint is False
    assert config(answer_hint=True).mode == "rationale" and config(answer_hint=True).answer_hint
    assert config(answer_hint=False).mode == "blind"
    assert config(answer_hint=True) == config(mode="rationale")  # one config, one hash
    assert config(answer_hint=True).config_hash() == config(mode="rationale").config_hash()
    with pytest.raises(ValueError, match="answer_hint"):
        config(mode="skeleton", answer_hint=True)
    with pytest.raises(ValueError):
        config(mode="guess")
    assert len({DraftStage.prompt_hash(m) for m in ("skeleton", "rationale", "blind")}) == 3
    assert DraftStage.prompt_hash(True) == DraftStage.prompt_hash("rationale")


def test_user_questions_fall_back_to_rationale_and_sources_are_counted(collection):
    tasks, views = collection
    view = views["a" * 16]
    user = TaskRecord("u", view.video_id, "user", "free-form", "What does the sign say?", "OPEN 24H")
    ocr = next(t for t in tasks if t.generator == "ocr" and t.video_id == view.video_id)

    class Observer(Rewriter):
        def generate(self, requests: list[GenRequest]) -> list[GenResult]:
            return [GenResult(text="2, the sign reads OPEN 24H.") if r.prefill == "In shot " else
                    GenResult(text="") for r in requests]  # fmt: skip

    stage = DraftStage(DraftConfig(), backend=Observer(None))
    out = stage.process_batch([(user, view), (ocr, view)])
    assert [c.source for c in out if isinstance(c, CotRecord)] == ["rationale", "skeleton"]
    assert not any(isinstance(c, Rejected) for c in out)
    rows = [*out, ("polished", True), ("polished", False)]
    out[1].accepted = True  # type: ignore[union-attr]
    counts = acceptance_by_source(rows)  # type: ignore[arg-type]
    assert [(s, a.chains, a.accepted) for s, a in counts.items()] == [
        ("skeleton", 1, 1), ("polished", 2, 1), ("rationale", 1, 0)
    ]  # fmt: skip
    assert counts["polished"].rate == 0.5


# ---- tasks worth a chain -------------------------------------------------------------------------------


def test_tasks_the_prompt_answers_are_flagged_and_kept_out_of_the_pools(collection):
    tasks, views = collection
    duration = [t for t in tasks if t.question.startswith("How long is the video")]
    shots = [t for t in tasks if t.question.startswith("How many shots")]
    colour = [t for t in tasks if "colours" in t.question]
    assert duration and shots and colour
    assert all(t.prompt_answerable for t in duration + shots)
    assert not any(t.prompt_answerable for t in colour)
    assert not any(t.prompt_answerable for t in tasks if t.generator in ("visible", "ocr", "grounding", "boxes"))
    # the flag follows what the prompt prints: a duration the header does not show is not answered by it
    view = views[duration[0].video_id]
    wrong = TaskRecord("w", view.video_id, "user", "numerical", "How long is the video, in seconds?", "99")
    assert not is_prompt_answerable(wrong, view)
    assert f"{view.duration:.2f}s long" in text_view(view)
    share = prompt_answerable_share(tasks)
    assert 0 < share == sum(t.prompt_answerable for t in tasks) / len(tasks) < 1

    pools = PoolsStage(PoolsConfig())
    rows, rejects = pools.rl(tasks, views)
    assert {r.task_id for r in rows} == {t.task_id for t in tasks if not t.prompt_answerable}
    assert {r.reason for r in rejects} == {"prompt_answerable"}
    kept, _ = PoolsStage(PoolsConfig(keep_prompt_answerable=True)).rl(tasks, views)
    assert len(kept) == len(tasks)


# ---- the embedded model ------------------------------------------------------------------------------


@pytest.mark.slow
def test_skeleton_drafting_with_the_embedded_model(collection):
    from curation.llm.transformers_backend import TransformersBackend

    tasks, views = collection
    picked = [next(t for t in tasks if t.generator == g) for g in ("visible", "counting", "grounding")]
    backend = TransformersBackend(batch_size=4, torch_threads=1)
    stage = DraftStage(DraftConfig(polish_tokens=96), backend=backend)
    out = stage.process_batch([(t, views[t.video_id]) for t in picked])
    for task, cot in zip(picked, out, strict=True):
        assert isinstance(cot, CotRecord) and cot.source in ("skeleton", "polished")
        view = views[task.video_id]
        think = parse_completion(cot.draft).think
        assert think is not None and cot.predicted_answer == task.answer
        body = think.rsplit(" So the answer is", 1)[0]
        sk = build_skeleton(task, view)
        assert sk is not None
        if cot.source == "skeleton":
            assert body == sk.think
        else:  # a rewrite is kept only with the skeleton's facts, evidence-bound
            assert facts(body, view) == facts(sk.think, view) and check_citations(body, view).errors == []
