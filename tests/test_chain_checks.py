"""Chains a careful reader would accept: the bad chains of issue 15 (verbatim) and more are rejected with the right
reason; a good chain of every problem type passes every check."""

from __future__ import annotations

import json

import pytest

from curation.checks import VerifyConfig, first_failure
from curation.checks.analysis import coherence, mentions, singular, support
from curation.verify import VerifyStage
from schemas import CotRecord, TaskRecord, VideoView
from tests.views import BOX, build_view, street_view
from trainers.citations import add_keyframes, check_citations
from trainers.claims import check_chain, contradictions


def keyframes_numbered(view: VideoView) -> VideoView:
    """Keyframe ids as the pipeline writes them (`<video>-f00001`, in time order), so `[kf f00001]` is unique."""
    ids = {f.frame_id: f"{view.video_id}-f{i:05d}" for i, f in enumerate(sorted(view.frames, key=lambda f: f.time), 1)}
    for f in view.frames:
        f.frame_id = ids[f.frame_id]
    for e in view.evidence:
        e.frame_id = ids[e.frame_id]
    return view


def chain(think: str, answer: str, task: TaskRecord) -> CotRecord:
    """An accepted-looking chain as refinement leaves it: full grounding, `So the answer is …` closing the think."""
    text = f"<think>{think} So the answer is {answer}.</think><answer>{answer}</answer>"
    return CotRecord(f"c-{task.task_id}", task.task_id, task.video_id, "m", text, text, None, 0.0, 0.0, 1.0, 1.0, 1.0,
                     False, None)  # fmt: skip


def verdict(think: str, answer: str, task: TaskRecord, view: VideoView) -> str | None:
    """The verifier's reject reason for one chain (None when accepted), through the stage as the flow calls it."""
    (out,) = VerifyStage().process_batch([(chain(think, answer, task), task)], views={view.video_id: view})
    return out.reject_reason


def mc(vid: str, gen: str, question: str, answer: str, options: list[str], evidence: list[str]) -> TaskRecord:
    return TaskRecord(f"t-{vid}-{len(question)}", vid, gen, "multiple choice", question, answer, options,
                      evidence_ids=evidence)  # fmt: skip


def num(vid: str, gen: str, question: str, answer: str, evidence: list[str]) -> TaskRecord:
    return TaskRecord(f"t-{vid}-{len(question)}", vid, gen, "numerical", question, answer, evidence_ids=evidence)


# ----------------------------------------------------------------------------------------------------
# The videos of issue 15's chains, with the evidence the demo's detectors produce for them


def megamind() -> VideoView:
    person = [("person", 0.8, BOX)]
    return keyframes_numbered(build_view("megamind", [
        {"start": 0.04, "end": 4.17, "frames": [{"objects": person, "colours": ["black", "blue"]}]},
        {"start": 4.17, "end": 7.0, "frames": [{"objects": [("tv", 0.7, BOX)], "colours": ["blue"]}]},
        {"start": 7.0, "end": 10.5, "frames": [{"colours": ["white"], "ocr": "MEGAMIND"}]},
        {"start": 10.5, "end": 14.0, "frames": [{"objects": person * 2, "colours": ["orange"]}]},
    ], duration=14.0))  # fmt: skip


def one_shot(vid: str, duration: float, frame: dict) -> VideoView:
    return keyframes_numbered(build_view(vid, [{"start": 0.0, "end": duration, "frames": [frame]}]))


def cuts_narrated() -> VideoView:
    return keyframes_numbered(build_view("cuts", [
        {"start": 0.0, "end": 4.0, "frames": [{"colours": ["red"]}]},
        {"start": 4.0, "end": 8.0, "frames": [{"colours": ["green"]}]},
        {"start": 8.0, "end": 12.0, "frames": [{"colours": ["blue"]}]},
    ], speech=[[("This", 0.5, 0.8), ("is", 0.8, 1.0), ("red.", 1.0, 1.4)]]))  # fmt: skip


COLOURS_Q = "Which of these colours is prominent in the video between {a}s and {b}s?"


def test_issue_chain_1_repeated_loop_is_incoherent():
    view = megamind()
    task = mc("megamind", "visible", COLOURS_Q.format(a="0.04", b="4.17"), "D",
              ["A. green", "B. yellow", "C. pink", "D. black"], ["megamind-s0", "megamind-f00001"])  # fmt: skip
    think = (
        "In shot 1 [0.04–4.17s] [kf f00001], the video shows a person wearing a person wearing a person wearing a "
        "person wearing …"
    )
    assert verdict(think, "D", task, view) == "incoherent"
    assert coherence(think) == 'repeated loop: "a person wearing"'


def test_issue_chain_2_ordering_that_names_no_clip_in_order_is_unsupported():
    view = megamind()
    question = (
        "These clips from the video are listed out of order:\n1. person; colours black, blue\n"
        '2. text "MEGAMIND"; colours white\n3. person ×2; colours orange\n4. tv; colours blue\n'
        "In what order do they appear in the video? List the clip numbers."
    )
    task = TaskRecord("t-order", "megamind", "ordering", "ordering", question, "1, 4, 2, 3",
                      evidence_ids=[f"megamind-s{i}" for i in range(4)])  # fmt: skip
    think = "In shot 1 [0.04–4.17s] [kf f00001], the video shows a person's actions and actions are based on actions."
    assert verdict(think, "1, 4, 2, 3", task, view) == "unsupported_answer"


def test_issue_chain_3_shot_count_about_a_bird_and_a_cat_is_unsupported():
    view = one_shot("bbb", 10.0, {"objects": [("bird", 0.6, BOX), ("cat", 0.5, BOX)], "colours": ["green"]})
    task = num("bbb", "counting", "How many shots does the video have? A shot is a continuous take between two cuts "
               "or fades.", "1", ["bbb-s0"])  # fmt: skip
    think = (
        "In shot 1 [0.00–10.00s] [kf f00001], the video shows a bird and a cat, which is a classic example of a "
        "scene where a bird and a cat are depicted together."
    )
    assert verdict(think, "1", task, view) == "unsupported_answer"


def test_issue_chain_4_duration_from_a_colour_is_unsupported():
    view = one_shot("librivox", 6.28, {"colours": ["blue"]})
    task = num("librivox", "numeric", "How long is the video, in seconds?", "6.28", ["librivox"])
    # It even cites the one shot, which ends at 6.28s, but never says anything about the video's length.
    think = "In shot 1 [0.00–6.28s] [kf f00001], the keyframes show the colour blue."
    assert verdict(think, "6.28", task, view) == "unsupported_answer"


def test_issue_chain_5_colour_question_about_8_to_12s_citing_shot_1_is_irrelevant():
    view = cuts_narrated()
    task = mc("cuts", "visible", COLOURS_Q.format(a="8.00", b="12.00"), "B", ["A. red", "B. blue", "C. green",
              "D. pink"], ["cuts-s2", "cuts-f00003"])  # fmt: skip
    think = "In shot 1 [0.00–4.00s] [kf f00001], the keyframes show the colour red."
    assert verdict(think, "B", task, view) == "irrelevant_evidence"


def test_issue_chain_6_digit_and_colon_salad_is_incoherent():
    view = one_shot("fade", 10.04, {"colours": ["black"]})
    task = num("fade", "numeric", "How long is the video, in seconds?", "10.04", ["fade"])
    think = (
        "In shot 1 [0.00–10.04s] [kf f00001], a 68: 20 frame-per-second video shows a 00: 68: 20 frame-per-second "
        "video with a 20:00:02 frame-."
    )
    assert verdict(think, "10.04", task, view) == "incoherent"
    assert coherence(think) == 'token salad: "68: 20"'


# ----------------------------------------------------------------------------------------------------
# Good chains of every problem type, on one street video, and more bad ones


@pytest.fixture(scope="module")
def street() -> VideoView:
    # Keyframes: f00001 1.0s, f00002 2.0s (car, red), f00003 4.0s, f00004 5.0s (2 people, green),
    # f00005 7.5s ("OPEN DAILY", blue), f00006 10.5s (dog, yellow). Speech: "the quick brown fox" at 3.20–4.60s.
    return keyframes_numbered(street_view("st"))


ORDER_Q = (
    "These clips from the video are listed out of order:\n1. dog; colours yellow\n2. car; colours red\n"
    "3. person ×2; colours green\nIn what order do they appear in the video? List the clip numbers."
)
BOXES = json.dumps([{"time": 10.5, "x1": 0.1, "y1": 0.2, "x2": 0.5, "y2": 0.6}])
VISIBLE = mc("st", "visible", "Which of these objects can be seen in the video between 0.00s and 3.00s?", "B",
             ["A. dog", "B. car", "C. cup", "D. knife"], ["st-s0", "st-f00001", "st-f00002"])  # fmt: skip
ABSENT = mc("st", "absence", 'Is a "horse" visible anywhere in the video?', "A",
            ["A. No", "B. Yes", "C. Cannot be determined from the video"], [])  # fmt: skip
COUNT = num("st", "counting", "How many people can be seen in the video between 3.00s and 6.00s?", "2",
            ["st-s1", "st-f00003", "st-f00004"])  # fmt: skip
SHOTS = num("st", "counting", "How many shots does the video have? A shot is a continuous take between two cuts or "
            "fades.", "4", ["st-s0", "st-s1", "st-s2", "st-s3"])  # fmt: skip
LENGTH = num("st", "numeric", "How long is the video, in seconds?", "12", ["st"])
SHOT_LENGTH = num("st", "numeric", "How long, in seconds, is the shot that begins at 3.00s?", "3", ["st-s1"])
SHOT_START = num("st", "numeric", "At what time, in seconds, does the third shot of the video begin?", "6", ["st-s2"])
OCR = TaskRecord("t-ocr", "st", "ocr", "OCR", "What text appears on screen between 6.00s and 9.00s? Write it exactly "
                 "as shown.", "OPEN DAILY", evidence_ids=["st-s2", "st-f00005"])  # fmt: skip
SPAN = TaskRecord("t-span", "st", "grounding", "span", 'When is the phrase "the quick brown fox" spoken in the video? '
                  "Give the start and end time in seconds.", "[3.20, 4.60]", span=[3.2, 4.6],
                  evidence_ids=["st-g1"])  # fmt: skip
ORDER = TaskRecord("t-order", "st", "ordering", "ordering", ORDER_Q, "2, 3, 1",
                   evidence_ids=["st-s0", "st-s1", "st-s3"])  # fmt: skip
WHERE = TaskRecord("t-box", "st", "boxes", "box", "Where is the dog between 9.00s and 12.00s? For each of these times "
                   "where it is visible (10.50s), give its bounding box.", BOXES,
                   evidence_ids=["st-s3", "st-f00006"])  # fmt: skip

GOOD = {
    "multiple choice": (VISIBLE, "B", "In shot 1 [0.00–3.00s] [kf f00001, f00002], the keyframes show a car and the "
                        "colour red. No dog, cup or knife is seen in this shot."),
    "absence": (ABSENT, "A", "No keyframe of the video [0.00–12.00s] shows a horse."),
    "count": (COUNT, "2", "In shot 2 [3.00–6.00s] [kf f00003, f00004], both keyframes show 2 people."),
    "shot count": (SHOTS, "4", "The video has 4 shots. Shot 1 [0.00–3.00s] shows a car, shot 2 [3.00–6.00s] shows 2 "
                   'people, shot 3 [6.00–9.00s] shows the text "OPEN DAILY" and shot 4 [9.00–12.00s] shows a dog.'),
    "length": (LENGTH, "12", "The video starts at [0.00s] and its last shot ends at [12.00s], so it is 12 seconds "
               "long."),
    "shot length": (SHOT_LENGTH, "3", "The shot that begins at [3.00s] is shot 2 [3.00–6.00s]; it ends 3 seconds "
                    "later, at [6.00s]."),
    "shot start": (SHOT_START, "6", "Shot 1 [0.00–3.00s] and shot 2 [3.00–6.00s] come first. The third shot begins "
                   'at [6.00s], where the text "OPEN DAILY" appears.'),
    "OCR": (OCR, "OPEN DAILY", 'In shot 3 [6.00–9.00s] [kf f00005], the sign reads "OPEN DAILY".'),
    "span": (SPAN, "[3.20, 4.60]", 'The speaker says "the quick brown fox" from [3.20–4.60s], while shot 2 '
             "[3.00–6.00s] shows 2 people."),
    "ordering": (ORDER, "2, 3, 1", "Clip 2, the red car, is shot 1 [0.00–3.00s]. Clip 3, the 2 people, is shot 2 "
                 "[3.00–6.00s]. Clip 1, the dog, is shot 4 [9.00–12.00s]."),
    "box": (WHERE, BOXES, "In shot 4 [9.00–12.00s], the dog is at [box 0.10,0.20,0.50,0.60 @ 10.50s]."),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(GOOD))
def test_a_good_chain_of_every_problem_type_passes_every_check(street, kind):
    task, answer, think = GOOD[kind]
    (out,) = VerifyStage().process_batch([(chain(think, answer, task), task)], views={"st": street})
    assert (out.reject_reason, out.reject_detail) == (None, "")
    assert out.accepted and out.checks_failed == []
    assert {"citations", "relevance", "support", "consistency", "coherence"} <= set(out.checks_run)


BAD = {
    "truncated": (COUNT, "2", "In shot 2 [3.00–6.00s] [kf f00003, f00004], the keyframes show 2 people standing next "
                  "to the.", "incoherent"),
    "letter only": (VISIBLE, "B", "In shot 1 [0.00–3.00s] [kf f00001, f00002], option B is clearly visible in the "
                    "street.", "unsupported_answer"),
    "absence never stated": (ABSENT, "A", "In shot 1 [0.00–3.00s] [kf f00001], the keyframes show a red car.",
                             "unsupported_answer"),
    "text not read": (OCR, "OPEN DAILY", "In shot 3 [6.00–9.00s] [kf f00005], the keyframes show some writing on a "
                      "blue sign.", "unsupported_answer"),
    "phrase elsewhere": (SPAN, "[3.20, 4.60]", 'The speaker says "look at this car" at [0.50–1.60s].',
                         "irrelevant_evidence"),
    "clips out of order": (ORDER, "2, 3, 1", "Clip 1, the dog, is shot 4 [9.00–12.00s]. Clip 2, the red car, is "
                           "shot 1 [0.00–3.00s]. Clip 3, the 2 people, is shot 2 [3.00–6.00s].", "unsupported_answer"),
    "count without its objects": (COUNT, "2", "In shot 2 [3.00–6.00s] [kf f00003, f00004], the scene is calm and "
                                  "green.", "unsupported_answer"),
    "box at one time only": (WHERE, BOXES, "In shot 4 [9.00–12.00s], a dog runs across the yellow lawn.",
                             "unsupported_answer"),
    "wrong colour": (COUNT, "2", "In shot 2 [3.00–6.00s], the keyframes show 2 people on a red street.",
                     "contradicted"),
    "wrong shot number": (COUNT, "2", "Shot 3 [3.00–6.00s] shows 2 people.", "contradicted"),
    "wrong length": (SHOT_LENGTH, "3", "The shot that begins at [3.00s] is shot 2 [3.00–6.00s]; it ends 3 seconds "
                     "later, at [6.00s]. The video is 20 seconds long.", "contradicted"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(BAD))
def test_more_bad_chains_are_rejected_with_their_reason(street, kind):
    task, answer, think, reason = BAD[kind]
    assert verdict(think, answer, task, street) == reason


def test_counts_say_which_checks_fail_whatever_their_order(street):
    stage = VerifyStage(VerifyConfig(checks=["consistency", "support", "format"]))
    task, answer, think, _ = BAD["wrong shot number"]
    (out,) = stage.process_batch([(chain(think, answer, task), task)], views={"st": street})
    assert out.checks_run == ["consistency", "support", "format"] and out.checks_failed == ["consistency"]
    assert out.reject_detail == "shot 'shot 3' @[3.00–6.00s]: shot 3 is [6.00–9.00s]"


def test_the_analysis_functions_work_without_a_view():
    task, answer, think = GOOD["OCR"]
    assert support(think, task, answer) is None
    missing = support("In shot 3 [6.00–9.00s], the keyframes show a sign.", task, answer)
    assert missing == 'the text read ("OPEN DAILY") is never stated'


def test_consistency_reads_back_counts_and_absences(street):
    assert contradictions("In shot 2 [3.00–6.00s], the keyframes show 3 people.", street)[0].value == "3 person"
    assert contradictions("No keyframe of the video [0.00–12.00s] shows a dog.", street)[0].kind == "absent"
    assert contradictions("In shot 2 [3.00–6.00s], the keyframes show 2 people and a bird.", street) == []


def test_first_failure_gives_reason_and_detail_for_a_rewrite(street):
    task, answer, think = GOOD["count"]
    assert first_failure(chain(think, answer, task), task, street) is None
    vague = "In shot 2 [3.00–6.00s] [kf f00003], the keyframes show people."
    bad = first_failure(chain(vague, answer, task), task, street)
    assert bad is not None and (bad.reason, bad.detail) == ("unsupported_answer", "never states the count: 2 people")


def test_acceptance_per_check_and_source_and_prompt_answered_tasks_reach_summary_card_browse(street, dataset_dir):
    import duckdb

    from benchmarks.records import PROV, sample_records
    from curation.checks import check_counts
    from curation.verify import verdict_stats
    from data_cards.card import card_body
    from data_cards.stats import collect_stats
    from flows.browse.overview_data import from_card, from_counts
    from flows.synthesis import SynthesisSummary
    from schemas.store import DatasetWriter
    from schemas.synthesis import acceptance_by_source

    pairs = [(chain(think, answer, task), task) for task, answer, think in GOOD.values()]
    pairs += [(chain(think, answer, task), task) for task, answer, think, _ in BAD.values()]
    sources = ["skeleton", "polished", "rationale", "blind", ""]  # "": drafted before the source was recorded
    for i, (c, _) in enumerate(pairs):
        c.cot_id, c.provenance, c.source = f"c{i}", PROV, sources[i % len(sources)]
    cots = VerifyStage().process_batch(pairs, views={"st": street})
    records = sample_records("a" * 64)
    vid = records["tasks"][0].video_id
    # Four tasks, two of which the prompt answers ("t1" has sft and rl rows, the flagged ones none).
    records["tasks"] += [
        TaskRecord(f"t{i}", vid, "numeric", "numerical", "How long is the video, in seconds?", "12",
                   prompt_answerable=i < 4, provenance=PROV)
        for i in (2, 3, 4)
    ]  # fmt: skip
    records["cot"] = cots
    with DatasetWriter(dataset_dir) as w:
        for table, rows in records.items():
            w.append(table, rows)
        w.commit()
    want = {name: (n.checked, n.failed) for name, n in check_counts(cots).items()}
    assert want["support"] == (22, 7) and want["consistency"][1] == 3
    by_source = {s: (a.chains, a.accepted) for s, a in acceptance_by_source(cots).items()}
    assert list(by_source) == ["skeleton", "polished", "rationale", "blind", "unrecorded"]
    assert sum(n for n, _ in by_source.values()) == 22 and sum(a for _, a in by_source.values()) == 11
    assert by_source["skeleton"] == (5, 3)  # GOOD chains 0, 5, 10 and BAD chains 15, 20 (rejected)

    # The run summary: per check, per source, and the share of tasks the prompt answers
    summary = SynthesisSummary()
    summary.absorb(verdict_stats(cots))
    summary.absorb({"tasks": 4, "prompt_answerable_tasks": 2})
    doc = summary.to_json()
    assert {k: (v["ran"], v["failed"]) for k, v in doc["checks"].items()} == want
    assert {k: (v["chains"], v["accepted"]) for k, v in doc["sources"].items()} == by_source
    assert doc["sources"]["skeleton"]["acceptance"] == 0.6
    assert (doc["prompt_answerable_tasks"], doc["prompt_answerable_share"]) == (2, 0.5)

    # The data card
    stats = collect_stats(dataset_dir)
    assert {c.check: (c.checked, c.failed) for c in stats.check_acceptance} == want
    assert [c.check for c in stats.check_acceptance][:3] == ["format", "length", "language"]
    assert [(a.source, a.chains, a.accepted) for a in stats.source_acceptance] == [
        (s, n, a) for s, (n, a) in by_source.items()
    ]
    assert (stats.prompt_answerable_share, stats.prompt_answerable_tasks, stats.prompt_answerable_in_pools) == (
        0.5, 2, 0)  # fmt: skip
    body = card_body(stats, "t")
    assert "| support | 22 | 7 | 68.2% |" in body
    assert "| skeleton | 5 | 3 | 60.0% |" in body and "| unrecorded | 4 | 2 | 50.0% |" in body
    assert "shot list prints the answer): 50.0% — 2 tasks, all kept out of the pools" in body
    assert stats.to_json()["source_acceptance"][0] == {"source": "skeleton", "chains": 5, "accepted": 3, "rate": 0.6}

    # Browse's overview: from the card's statistics, and from its own queries (the same numbers)
    overview = from_card(stats)
    assert overview.checks == [(c.check, c.checked, c.failed) for c in stats.check_acceptance]
    assert overview.sources == [(s, n, a) for s, (n, a) in by_source.items()]
    note = ("tasks the prompt answers (duration, shot list)", "50% (2, all kept out of the pools)")
    assert note in overview.notes
    from schemas.store.query import connect

    con = connect(dataset_dir)
    assert isinstance(con, duckdb.DuckDBPyConnection)
    own = from_counts(con)
    assert (own.checks, own.sources) == (overview.checks, overview.sources) and note in own.notes


# ----------------------------------------------------------------------------------------------------
# Bugs the skeletons ran into: each a chain that is right and was rejected


def test_plurals_fold_to_their_singular_so_one_bus_supports_a_count_of_buses():
    plurals = {"buses": "bus", "boxes": "box", "benches": "bench", "dishes": "dish", "glasses": "glass",
               "puppies": "puppy", "cars": "car", "houses": "house", "shoes": "shoe", "knives": "knife",
               "mice": "mouse", "geese": "goose", "teeth": "tooth"}  # fmt: skip
    assert {p: singular(p) for p in plurals} == plurals
    # words that only end in s stay as they are
    assert [singular(w) for w in ("bus", "glass", "status", "this", "has", "news")] == [
        "bus", "glass", "status", "this", "has", "news"]  # fmt: skip
    assert mentions("The keyframes show 2 people and 3 children.", "person") and mentions("two buses", "bus")
    view = keyframes_numbered(build_view("road", [
        {"start": 0.0, "end": 4.0, "frames": [{"objects": [("bus", 0.9, BOX)], "colours": ["white"]}]},
        {"start": 4.0, "end": 8.0, "frames": [{"objects": [("car", 0.9, BOX)], "colours": ["red"]}]},
    ]))  # fmt: skip
    task = num("road", "counting", "How many buses can be seen in the video between 0.00s and 4.00s?", "1",
               ["road-s0", "road-f00001"])  # fmt: skip
    think = "In shot 1 [0.00–4.00s] [kf f00001], the keyframe shows 1 bus."
    assert support(think, task, "1", view) is None
    assert verdict(think, "1", task, view) is None


def test_a_sentence_ending_on_a_citation_or_an_option_letter_is_not_cut_off():
    for ending in ("the colour blue is seen at [8.00s].", "the car is seen at [kf f00002].",
                   "the dog is at [box 0.10,0.20,0.50,0.60 @ 10.50s].", "the red car is option A.",
                   "the red car is option a.", 'the sign reads "OPEN AT".'):  # fmt: skip
        assert coherence(f"In shot 1 [0.00–3.00s], {ending} So the answer is B.") is None, ending
    # a citation is a word of its own: three different times after "at" are no loop; one cited thrice is
    assert coherence("A car is seen at [0.50s], at [1.00s], at [1.50s] and at [2.00s].") is None
    looped = coherence("A car is seen at [kf f00001] [kf f00001] [kf f00001].")
    assert looped is not None and looped.startswith("repeated loop")
    # still cut off: a sentence that ends on an article or a preposition
    assert coherence("In shot 1 [0.00–3.00s], a car stands next to the.") == 'truncated: ends on "the"'
    assert coherence("In shot 1 [0.00–3.00s], the car is a.") == 'truncated: ends on "a"'


def test_orange_the_colour_is_not_read_as_the_fruit():
    view = keyframes_numbered(build_view("sunset", [
        {"start": 0.0, "end": 4.0, "frames": [{"objects": [("person", 0.9, BOX)], "colours": ["orange", "black"]}]},
        {"start": 4.0, "end": 8.0, "frames": [{"objects": [("orange", 0.8, BOX)], "colours": ["green"]}]},
    ]))  # fmt: skip
    task = mc("sunset", "visible", COLOURS_Q.format(a="0.00", b="4.00"), "C",
              ["A. blue", "B. white", "C. orange", "D. pink"], ["sunset-s0", "sunset-f00001"])  # fmt: skip
    for think in (
        "In shot 1 [0.00–4.00s] [kf f00001], the keyframe shows a person and the colour orange.",
        "In shot 1 [0.00–4.00s] [kf f00001], the keyframe shows a person and the colours orange and black.",
        "In shot 1 [0.00–4.00s] [kf f00001], a person in orange stands against a black wall.",
        "In shot 1 [0.00–4.00s] [kf f00001], the sky is orange behind a person.",
        "In shot 1 [0.00–4.00s] [kf f00001], an orange colour fills the frame around a person.",
        "In shot 1 [0.00–4.00s] [kf f00001], the keyframe shows a person and orange.",  # the evidence decides
    ):
        assert check_citations(think, view).errors == [], think
        assert verdict(think, "C", task, view) is None, think

    def kinds(sentence: str) -> list[tuple[str, str, bool]]:
        return [(c.kind, c.value, c.supported) for c in check_chain(sentence, view).claims if c.kind != "time"]

    # the fruit is still the fruit: "an orange", "oranges", "orange juice"
    assert kinds("In shot 2 [4.00–8.00s], the keyframe shows an orange.") == [("object", "orange", True)]
    assert kinds("In shot 2 [4.00–8.00s], two oranges lie on the table.") == [("count", "2 orange", False)]
    assert kinds("In shot 1 [0.00–4.00s], the keyframe shows an orange.") == [("object", "orange", False)]
    # and a colour that is not there is still a contradiction
    assert kinds("In shot 2 [4.00–8.00s], the wall is orange.") == [("colour", "orange", False)]


def test_keyframes_are_added_only_inside_the_cited_range():
    # One long shot [0–9s] with keyframes at 3s (a car) and 6s (a car and a dog): a sentence about [0.00–4.00s]
    # may cite the 3s keyframe only, although the 6s one (same shot) shows more of what it says.
    view = keyframes_numbered(build_view("long", [
        {"start": 0.0, "end": 9.0, "frames": [{"objects": [("car", 0.9, BOX)]},
                                             {"objects": [("car", 0.9, BOX), ("dog", 0.9, BOX)]}]},
    ]))  # fmt: skip
    out = add_keyframes("From the start [0.00–4.00s], a car and a dog are in the street.", view)
    assert out == "From the start [0.00–4.00s] [kf f00001], a car and a dog are in the street."
    assert not any("outside the cited" in e for e in check_citations(out, view).errors)
    # a point citation gets the keyframe within the tolerance, and none when there is none that close
    assert add_keyframes("At [6.20s], a dog runs.", view) == "At [6.20s] [kf f00002], a dog runs."
    assert add_keyframes("At [4.50s], a car waits.", view) == "At [4.50s], a car waits."


def test_a_chain_that_picks_another_option_letter_than_its_answer_is_unsupported() -> None:
    """Read off the demo: a polished absence chain said "That is option C (No)" and answered A (A. No)."""
    from curation.checks.analysis import support
    from schemas import TaskRecord

    task = TaskRecord(
        task_id="t-letter", video_id="v", problem_type="multiple choice", generator="absence",
        question='Is the phrase "welcome to the kitchen" spoken anywhere in the video?',
        options=["A. No", "B. Yes", "C. Cannot be determined from the video"], answer="A",
    )  # fmt: skip
    bad = ('The transcript [0.00–8.00s] never says "welcome to the kitchen". That is option C (No). '
           "So the answer is A.")  # fmt: skip
    good = bad.replace("option C", "option A")
    assert "picks option C" in (support(bad, task, "A") or "")
    assert support(good, task, "A") is None
