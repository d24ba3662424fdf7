"""Compositional tasks: the generators over hand-built videos with known evidence, their program traces, the
skeletons built from them, and the steps check.

The two videos of tests/test_skeleton.py (a street: two people, a car by "OPEN 24H", a dog, speech; a shop: a bus
and a cat, a bicycle by "SALE NOW", speech) give each family questions whose answers are known by hand.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from benchmarks.records import PROV
from curation.checks import first_failure
from curation.checks.steps import step_problem
from curation.draft import compose_chain
from curation.skeleton import build_skeleton
from curation.tasks.base import GENERATORS, TasksConfig, TasksStage, load_generator
from schemas import CotRecord, RejectRecord, TaskRecord, VideoView, from_arrow, to_arrow
from tests.skeleton_views import shop, street
from trainers.claims import split_sentences

FAMILIES = ("compose_speech_vision", "compose_vision_speech", "compose_temporal", "compose_shots", "compose_change")
STATIC = ["format", "length", "language", "answer", "coherence", "citations", "relevance", "support", "consistency"]


def views() -> list[VideoView]:
    return [street(), shop()]


def generate(name: str, config: TasksConfig | None = None) -> tuple[list[TaskRecord], list[RejectRecord]]:
    vs = views()
    gen = load_generator(name, config or TasksConfig(), PROV)
    out = [item for v in vs for item in gen.generate(v, vs)]
    return [t for t in out if isinstance(t, TaskRecord)], [r for r in out if isinstance(r, RejectRecord)]


def chain(task: TaskRecord, think: str, answer: str | None = None) -> CotRecord:
    text = compose_chain(think, answer or task.answer)
    return CotRecord("c", task.task_id, task.video_id, "m", text, None, None, 0, 0, 0, 0, 0, False, None)


def by_id() -> dict[str, VideoView]:
    return {v.video_id: v for v in views()}


def test_every_family_is_registered() -> None:
    assert set(FAMILIES) <= set(GENERATORS)


def test_speech_to_vision_answers_what_the_phrase_shot_shows() -> None:
    tasks, _ = generate("compose_speech_vision")
    dog = next(t for t in tasks if "a good dog indeed" in t.question)
    chosen = next(o for o in dog.options if o.startswith(dog.answer + "."))
    assert chosen.endswith("dog")
    assert dog.trace is not None
    assert [s.op for s in dog.trace] == ["find_phrase", "shot_at", "shot_objects", "choose"]
    assert dog.trace[1].output == "shot 3" and (dog.trace[1].start, dog.trace[1].end) == (8.0, 12.0)
    # No option is anything the phrase's shot shows.
    assert sum(o.endswith(("dog",)) for o in dog.options) == 1


def test_temporal_orders_text_and_phrase_by_their_times() -> None:
    tasks, rejects = generate("compose_temporal")
    text_task = next(t for t in tasks if "OPEN 24H" in t.question)
    chosen = next(o for o in text_task.options if o.startswith(text_task.answer + "."))
    assert "OPEN 24H" in chosen  # the text at 6.00s comes before "a good dog indeed" at 8.40s
    # "look at them now" ends at 2.00s, the keyframe before the text's is at 2.00s: the order is not known.
    assert any(r.reason == "order_unknown" and "look at them now" in r.detail for r in rejects)
    objects = [t for t in tasks if t.question.startswith("Is ")]
    dog_car = next(t for t in objects if "a dog" in t.question and "a car" in t.question)
    chosen = next(o for o in dog_car.options if o.startswith(dog_car.answer + "."))
    first_dog = dog_car.question.index("a dog") < dog_car.question.index("a car")
    assert chosen.endswith("after" if first_dog else "before")  # the car (shot 2) is seen before the dog (shot 3)
    assert any(r.reason == "tie" for r in rejects)  # the bus and the cat are first seen in the same shot


def test_across_shots_counts_and_drops_ties() -> None:
    tasks, rejects = generate("compose_shots")
    car = next(t for t in tasks if "a car" in t.question)
    assert car.problem_type == "numerical" and car.answer == "1"
    assert [s.op for s in car.trace or []] == ["shot_lacks", "shot_shows", "shot_lacks", "count"]
    assert any(r.reason == "tie" for r in rejects)  # every object of the street video is on screen 4 s


def test_change_has_exactly_one_true_option() -> None:
    tasks, _ = generate("compose_change")
    t = next(t for t in tasks if t.video_id == "a" * 16 and "6.00s" in t.question)
    chosen = next(o for o in t.options if o.startswith(t.answer + "."))
    assert chosen.endswith("the car leaves")
    others = [o for o in t.options if o != chosen]
    assert not any(o.endswith(("the car leaves", "a dog appears")) for o in others)


def test_too_few_distractors_is_a_reject_not_a_padded_task() -> None:
    tasks, rejects = generate("compose_vision_speech")
    assert not tasks  # two phrases per video: fewer than the three distractors four options need
    assert {r.reason for r in rejects} >= {"too_few_distractors"}
    tasks, _ = generate("compose_vision_speech", TasksConfig(num_options=2))
    assert tasks and all(t.trace and t.trace[-1].op == "choose" for t in tasks)


def test_skeletons_are_the_trace_and_pass_every_check() -> None:
    vs = by_id()
    tasks, _ = TasksStage(TasksConfig()).generate(list(vs.values()))
    composed = [t for t in tasks if t.trace]
    assert {t.generator for t in composed} >= {"compose_speech_vision", "compose_temporal", "compose_shots"}
    for t in composed:
        sk = build_skeleton(t, vs[t.video_id])
        assert sk is not None
        assert len(split_sentences(sk.think)) == len(t.trace or [])
        assert f"option {t.answer}" in sk.think or t.problem_type != "multiple choice"  # letter after balancing
        assert first_failure(chain(t, sk.think), t, vs[t.video_id], checks=[*STATIC, "steps"]) is None, sk.think


def _composed(generator: str) -> tuple[TaskRecord, VideoView, str]:
    vs = by_id()
    tasks, _ = TasksStage(TasksConfig()).generate(list(vs.values()))
    t = next(t for t in tasks if t.generator == generator)
    sk = build_skeleton(t, vs[t.video_id])
    assert sk is not None
    return t, vs[t.video_id], sk.think


def test_a_skipped_step_is_rejected() -> None:
    t, view, think = _composed("compose_speech_vision")
    said = split_sentences(think)
    without_shot = " ".join(s for s in said if not s.startswith("That time falls"))
    found = first_failure(chain(t, without_shot), t, view, checks=["steps"])
    assert found is not None and found.reason == "skipped_step"
    assert "shot_at" in found.detail


def test_a_step_off_its_evidence_or_out_of_order_is_unlinked() -> None:
    t, view, think = _composed("compose_speech_vision")
    assert t.trace is not None
    said = split_sentences(think)
    swapped = " ".join([said[1], said[0], *said[2:]])  # the shot named before the phrase whose time it holds
    assert step_problem(swapped, t.trace, view, 0.5) is not None
    assert step_problem(think, t.trace, view, 0.5) is None
    moved = think.replace(said[0], 'The phrase "x" is heard. The rest of the video [0.00–0.10s] is quiet.')
    assert step_problem(moved, t.trace, view, 0.5) is not None


def test_a_contradicted_step_is_rejected_by_the_evidence_checks() -> None:
    t, view, think = _composed("compose_change")
    wrong = think.replace("shows no", "shows a", 1) if "shows no" in think else think.replace("show a", "show no", 1)
    assert first_failure(chain(t, wrong), t, view, checks=["steps"]) is not None


def test_the_trace_round_trips_through_arrow_and_old_shards_read_null() -> None:
    t, _, _ = _composed("compose_temporal")
    back = from_arrow("tasks", to_arrow("tasks", [t]))[0]
    assert back.trace == t.trace
    old = to_arrow("tasks", [dataclasses.replace(t, trace=None)]).drop_columns(["trace"])
    assert isinstance(old, pa.Table)
    assert from_arrow("tasks", old)[0].trace is None


def test_anchoring_rejects_moved_spans_wrong_video_ends_and_partial_absence() -> None:
    from curation.checks.anchoring import anchoring

    view = street()  # 12 s, shots [0–4] [4–8] [8–12], words 0.3 s long every 0.4 s from 0.5 s and 8.4 s
    assert anchoring("In shot 2 [4.00–8.00s] [kf f00001], a car is seen.", view, 0.5) is None
    assert anchoring("In shot 2 [0.50–8.00s], a car is seen.", view, 0.5) == (
        "wrong_time", "shot 2 is [4.00–8.00s], not [0.50–8.00s]")  # fmt: skip
    reason, _ = anchoring("A car is seen at [5.90–6.70s].", view, 0.2) or ("", "")
    assert reason == "unanchored_time"
    assert anchoring("The video starts at [3.00s] and ends at [12.00s].", view, 0.5) == (
        "wrong_time", "the video starts at 0.00s, not 3.00s")  # fmt: skip
    assert anchoring("The video starts at [0.00s] and ends at [12.00s].", view, 0.5) is None
    assert anchoring("No keyframe of the video [4.00–8.00s] shows a dog.", view, 0.5) == (
        "partial_absence", "says the whole video but checks [4.00–8.00s]")  # fmt: skip
    assert anchoring("No keyframe of the video [0.00–12.00s] shows a bus.", view, 0.5) is None
