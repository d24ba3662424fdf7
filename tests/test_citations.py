"""Evidence-bound chains: the normal citation form, the checker's verdicts with reasons, refinement adding
keyframes, the verifier's citation columns and reasons, and the trainers' citation reward (hand-computed)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from curation.refine import RefineConfig, RefineStage
from curation.verify import VerifyStage
from schemas import CotRecord
from tests.views import MC, cot, make_view
from trainers.citations import (
    add_keyframes,
    check_citations,
    check_text_view_citations,
    cited_shots,
    normalise_times,
    parse_text_view,
)
from trainers.rewards import citation_reward
from trainers.textview import task_messages, text_view


def chain(think: str, answer: str = "B") -> str:
    return f"<think>{think} So the answer is {answer}.</think><answer>{answer}</answer>"


# ---- normal form ---------------------------------------------------------------------------------------


def test_times_and_keyframes_are_rewritten_into_the_normal_form():
    assert normalise_times("A car (6 s) then [4-8 sec] and (4.5 to 7 seconds).") == (
        "A car [6.00s] then [4.00–8.00s] and [4.50–7.00s]."
    )
    assert normalise_times("The dog runs from 8 to 12 seconds, and barks at 10.5s.") == (
        "The dog runs [8.00–12.00s], and barks at [10.50s]."
    )
    assert normalise_times("Reversed [8.0–4.0s]; frame (frame f1) and [keyframes: f0, f2].") == (
        "Reversed [4.00–8.00s]; frame [kf f1] and [kf f0, f2]."
    )
    already = 'In shot 2 [4.00–8.00s] [kf f1], the sign reads "OPEN 24H".'
    assert normalise_times(already) == already
    # a bracketed range without a unit or a decimal point is a count, not a time
    prose = "There are (2-3) cars in [1-2] shots."
    assert normalise_times(prose) == prose


def test_keyframes_are_added_that_support_each_sentence():
    view = make_view()
    out = add_keyframes("In shot 1 [0.00–4.00s], two people in red. Later [4.00–12.00s], a car and a dog.", view)
    assert out == "In shot 1 [0.00–4.00s] [kf f0], two people in red. Later [4.00–12.00s] [kf f1, f2], a car and a dog."
    assert check_citations(out, view).accuracy == 1.0
    # a negated sentence (an absence) cites no single keyframe; an uncited sentence gets none either
    absent = "No keyframe of the video [0.00–12.00s] shows a cat. It is a quiet clip."
    assert add_keyframes(absent, view) == absent


# ---- the checker catches each kind of wrong citation, with the reason -------------------------------------


def test_a_time_outside_the_video_is_caught():
    report = check_citations("In shot 2 [4.00–8.00s] [kf f1], a car. At [13.00s] it drives off.", make_view())
    assert report.checked == 3 and report.errors == ["time [13.00s]: outside the video (0–12.00s)"]
    assert report.accuracy == pytest.approx(2 / 3)


def test_a_missing_or_misplaced_keyframe_is_caught():
    view = make_view()
    missing = check_citations("In shot 2 [4.00–8.00s] [kf f9], a car.", view)
    assert missing.errors == ["keyframe f9: no such keyframe in this video"]
    elsewhere = check_citations("In shot 2 [4.00–8.00s] [kf f2], a car.", view)
    assert elsewhere.errors[0] == "keyframe f2: at [10.00s], outside the cited [4.00–8.00s]"
    # the keyframe exists and lies in the range, but its evidence does not show what the sentence claims
    wrong = check_citations("In shot 2 [4.00–8.00s] [kf f1], a dog sits by the car.", view)
    assert wrong.errors == ["keyframes f1: do not show object 'dog'"]


def test_speech_not_in_the_transcript_or_at_another_time_is_caught():
    view = make_view()
    never = check_citations('In shot 1 [0.00–4.00s], a man says "open the door".', view)
    assert never.errors == ['speech "open the door": not in the transcript']
    elsewhere = check_citations('In shot 1 [0.00–4.00s], someone says "a good dog".', view)
    assert elsewhere.errors == ['speech "a good dog": said at [8.40–9.90s], not at [0.00–4.00s]']
    right = check_citations('In shot 3 [8.00–12.00s] [kf f2], a voice says "a good dog" to the dog.', view)
    assert right.errors == [] and right.checked == 3 and right.accuracy == 1.0
    # an absence of speech is checked the other way round
    assert check_citations('The transcript [0.00–12.00s] never says "open the door".', view).accuracy == 1.0
    assert check_citations('The transcript [0.00–12.00s] never says "look at them".', view).errors == [
        'speech "look at them": is said at [0.50–2.10s]'
    ]


def test_boxes_are_checked_against_detections():
    view = make_view()  # the car in f1 (6 s) is detected at (0.1, 0.1)-(0.3, 0.9)
    good = check_citations("The car [box 0.10,0.10,0.30,0.90 @ 6.00s] is parked.", view)
    assert good.checked == 1 and good.accuracy == 1.0
    bad = check_citations("The car [box 0.60,0.10,0.90,0.50 @ 6.00s] is parked.", view)
    assert bad.errors[0].startswith("box [box 0.60,0.10,0.90,0.50 @ 6.00s]: no detection near 6.00s")
    assert "not a region" in check_citations("A [box 0.5,0.1,0.2,0.9 @ 6s] box.", view).errors[0]


def test_a_chain_citing_nothing_has_accuracy_zero():
    report = check_citations("The video shows things.", make_view())
    assert report.checked == 0 and report.accuracy == 0.0


# ---- refinement and the verifier ----------------------------------------------------------------------


def test_refined_chains_cite_in_the_normal_form_and_check_clean():
    view = make_view()
    sloppy = chain("In shot 2 (4 - 8 s), a car parks by a sign that reads \"OPEN 24H\".")
    (out,) = RefineStage(RefineConfig(llm=None)).process_batch([(cot(sloppy), MC, view)])
    assert isinstance(out, CotRecord)
    assert out.refined == chain('In shot 2 [4.00–8.00s] [kf f1], a car parks by a sign that reads "OPEN 24H".')
    # keyframe ids the model made up are replaced by the ones that show the claim
    invented = chain("In shot 2 [4.00–8.00s] (frame 2), a car parks. [kf f0] A dog [8.00–12.00s] [kf f9] sleeps.")
    (fixed,) = RefineStage(RefineConfig(llm=None)).process_batch([(cot(invented), MC, view)])
    assert isinstance(fixed, CotRecord)
    assert fixed.refined == chain("In shot 2 [4.00–8.00s] [kf f1], a car parks. A dog [8.00–12.00s] [kf f2] sleeps.")


def test_the_verifier_fills_citation_columns_and_rejects_bad_citations():
    view = make_view()
    good = cot(chain("In shot 2 [4.00–8.00s] [kf f1], a car parks by the sign."))
    good.grounding = 1.0
    bad = cot(chain("In shot 2 [4.00–8.00s] [kf f9], a car parks. At [15.00s] it leaves."))
    bad.cot_id, bad.grounding = "c2", 1.0
    bare = cot(chain("A car parks by the sign and it is a fine evening for a walk."))
    bare.cot_id, bare.grounding = "c3", 1.0
    stage = VerifyStage()
    g, b, n = stage.process_batch([(good, MC), (bad, MC), (bare, MC)], views={"vid": view})
    assert g.accepted and g.citation_accuracy == 1.0 and g.citations_checked == 2 and g.citation_errors == []
    assert not b.accepted and b.reject_reason == "bad_citations"
    assert b.citation_accuracy == pytest.approx(1 / 3) and b.citations_checked == 3
    assert b.citation_errors == [
        "keyframe f9: no such keyframe in this video",
        "time [15.00s]: outside the video (0–12.00s)",
    ]
    assert not n.accepted and n.reject_reason == "uncited" and n.citations_checked == 0
    # the draft's own accuracy is kept beside the verified text's
    assert b.citation_accuracy_draft == pytest.approx(1 / 3)
    # without views nothing is checked (the columns keep their defaults)
    plain = cot(chain("In shot 2 [4.00–8.00s], a car."))
    plain.grounding = 1.0
    (p,) = VerifyStage().process_batch([(plain, MC)])
    assert p.accepted and p.citations_checked == 0


# ---- what a policy sees, and the citation reward ---------------------------------------------------------


def test_text_view_lists_keyframes_and_parses_back():
    view = make_view()
    text = text_view(view, keyframes=True)
    assert "Shot 2 [4.00–8.00s] (keyframes f1): car" in text
    index = parse_text_view(text)
    assert index.duration == 12.0
    assert [(n, a, b, k) for n, a, b, k in index.shots] == [
        (1, 0.0, 4.0, ["f0"]), (2, 4.0, 8.0, ["f1"]), (3, 8.0, 12.0, ["f2"])
    ]  # fmt: skip
    assert index.segments == [(0.5, 2.1, "Look at them."), (8.4, 9.9, "A good dog.")]


def test_citation_reward_hand_computed():
    view = make_view()
    prompt = [m.__dict__ for m in task_messages(MC, view, view_text=text_view(view, keyframes=True))]
    five = chain(
        'In shot 2 [4.00–8.00s] [kf f1], a car. Someone says "look at them" [0.50–2.10s]. At [13.00s] it ends.'
    )
    # 5 citations (span, keyframe, speech quote, its span, a time past the end): 4 valid → 0.8
    assert citation_reward([five], prompts=[prompt]) == [pytest.approx(0.8)]
    wrong_kf = chain("In shot 1 [0.00–4.00s] [kf f2], people.")  # f2 is listed, but in shot 3: 1 of 2 valid
    assert citation_reward([wrong_kf], prompts=[prompt]) == [pytest.approx(0.5)]
    assert citation_reward([chain("Nothing cited here.")], prompts=[prompt]) == [0.0]
    assert citation_reward([five]) == [0.0]  # no prompt, nothing to check against
    assert check_text_view_citations("Shot [2.00s].", text_view(view)).accuracy == 1.0


def test_cited_shots_per_sentence():
    text = text_view(make_view(), keyframes=True)
    think = "In shot 2 [4.00–8.00s], a car. Again [6.00s] [kf f1]. Then [kf f0] and [8.00–12.00s]."
    assert cited_shots(think, text) == [{2}, {2}, {1, 3}]


# ---- datasets written before these columns existed -------------------------------------------------------


def test_a_dataset_from_before_the_new_columns_reads_and_appends(tmp_path, monkeypatch):
    """Shards without `citation_*` / `budget_*` columns (an older vidcot) still read, query and take new rows."""
    import schemas.store.writer as writer_module
    from benchmarks.records import sample_records
    from schemas import from_arrow, schema_for
    from schemas.store import Dataset, DatasetWriter
    from schemas.store.query import connect
    from trainers.data import load_sft

    new_cols = {"citation_accuracy", "citation_accuracy_draft", "citations_checked", "citation_errors",
                "budget_used", "budget_frames", "budget_tokens", "keyframe_ids"}  # fmt: skip

    def old_schema(table: str) -> pa.Schema:
        s = schema_for(table)
        if table not in ("cot", "sft", "rl"):
            return s
        return pa.schema([f for f in s if f.name not in new_cols or (table == "sft" and f.name == "keyframe_ids")])

    records = sample_records()
    root = tmp_path / "ds"
    with monkeypatch.context() as m:
        m.setattr(writer_module, "schema_for", old_schema)
        with DatasetWriter(root) as w:
            for table in ("cot", "sft"):
                w.append(table, records[table])
            w.commit()
    assert "citation_accuracy" not in Dataset(root).read("cot").column_names
    (old,) = from_arrow("cot", Dataset(root).read("cot"))
    assert old.citation_accuracy == 0.0 and old.citation_errors == [] and old.citations_checked == 0
    new_cot = CotRecord(**{**old.__dict__, "cot_id": "new", "citation_accuracy": 1.0, "citations_checked": 2})
    new_sft = type(records["sft"][0])(**{**records["sft"][0].__dict__, "sample_id": "s2", "budget_used": 0.5})
    with DatasetWriter(root) as w:
        w.append("cot", [new_cot])
        w.append("sft", [new_sft])
        w.commit()
    con = connect(root)
    assert con.execute("SELECT cot_id, citation_accuracy FROM cot ORDER BY cot_id").fetchall() == [
        (records["cot"][0].cot_id, None), ("new", 1.0)
    ]  # fmt: skip
    assert con.execute("SELECT avg(citation_accuracy) FROM cot").fetchone() == (1.0,)
    both = from_arrow("cot", Dataset(root).read("cot"))
    assert sorted(c.citation_accuracy for c in both) == [0.0, 1.0]  # the old row's null reads as the default
    assert len(load_sft(root, "train")) == 2  # mixed shards reach the trainer too
