"""`vidcot eval`'s blind baselines: chance, the best constant answer, the question majority and the prior rules,
scored like the model on the same items, each with its bootstrap interval."""

from __future__ import annotations

import pytest

from trainers.evaluate import baselines, format_table, score

ABSENCE = ["A. Yes", "B. No"]


def item(question: str, problem_type: str, solution: str, options: list[str] | None = None) -> dict:
    opts = "Options:\n" + "\n".join(options) + "\n" if options else ""
    user = f"Video: 10 s\n1. [0.00–10.00s] a dog\nQuestion: {question}\n{opts}Answer format: x"
    return {"sample_id": question, "problem_type": problem_type, "solution": solution, "options": options or [],
            "prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": user}]}  # fmt: skip


def test_baselines_of_a_biased_set_show_the_shortcut():
    items = [item(f'Is a "thing{i}" visible anywhere in the video?', "multiple choice", "B", ABSENCE)
             for i in range(10)]  # fmt: skip
    items += [item(f"How many cats can be seen between {i}s and {i + 1}s?", "numerical", "1") for i in range(6)]
    items += [item(f"These clips are listed in random order:\n1. a{i}\n2. b\n3. c\nIn what order?", "ordering",
                   "1, 2, 3") for i in range(4)]  # fmt: skip
    b = baselines(items)
    # chance: 1/2 per absence item, 1 per count (one answer in use), 1/6 per ordering
    assert b["chance"]["mean"] == pytest.approx((10 * 0.5 + 6 * 1.0 + 4 / 6) / 20, abs=1e-4)  # rounded
    assert b["prior_rules"]["mean"] == 1.0  # every item is answered by its prior: No, 1, listed order
    assert b["question_majority"]["mean"] == 1.0
    assert b["constant"]["mean"] == 1.0  # per type: B, 1, "1,2,3"
    assert all(v["low"] <= v["mean"] <= v["high"] and v["items"] == 20 for v in b.values())


def test_baselines_of_a_balanced_set_are_chance():
    items = [item(f'Is a "thing{i}" visible anywhere in the video?', "multiple choice", "AB"[i % 2],
                  ABSENCE if i % 4 < 2 else ["A. No", "B. Yes"]) for i in range(20)]  # fmt: skip
    b = baselines(items)
    assert b["chance"]["mean"] == 0.5
    assert b["constant"]["mean"] == 0.5 and b["prior_rules"]["mean"] == 0.5
    m = score(items, [["<think>t</think><answer>A</answer>"]] * 20)
    assert m["accuracy"] == 0.5 and m["accuracy_interval"]["low"] < 0.5 < m["accuracy_interval"]["high"]
    m |= {"tokens_per_item": 5.0, "seconds_per_item": 0.1}
    table = format_table({"model": "m", "split": "test", "samples": 1, "conditions": {"with_subtitles": m},
                          "baselines": b})  # fmt: skip
    assert "uniform chance: 0.500" in table and "95% interval" in table
