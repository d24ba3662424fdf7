"""A synthetic pool of text-view tasks with exact answers, for the trainer tests and the CPU recipe.

Each synthetic "video" is a few shots (objects, colours, times) and a short transcript, written in the text-view
layout of `trainers.textview`, with the task prompt templates the real pools use. Tasks: multiple choice (what
a shot shows), numerical (how many shots), span (when a phrase is spoken) and ordering (clips out of order).
Each task gets an ``sft`` row (a short, correct chain of thought) and an ``rl`` row; videos are split
train/test so test rows are held-out videos.
"""

from __future__ import annotations

import random
from pathlib import Path

from schemas import Message, Provenance, RlRecord, SftRecord
from schemas.store import DatasetWriter
from trainers.templates import TASK_SYSTEM, TASK_USER
from trainers.textview import answer_format

OBJECTS = ["person", "car", "dog", "bicycle", "bus", "cat", "boat", "chair", "bird", "truck", "horse", "cup"]
COLOURS = ["red", "blue", "green", "yellow", "white", "black", "orange", "grey"]
PHRASES = ["welcome back everyone", "look at the water", "this is the last stop", "turn left here",
           "that was close", "see you tomorrow", "the game starts now", "it is raining again"]  # fmt: skip
PROVENANCE = Provenance(stage="synthetic", config_hash="synthetic", package_version="0", models=[])


def _video(rng: random.Random) -> dict:
    n = rng.randint(3, 5)
    cuts = sorted(rng.sample(range(2, 6 * n), n - 1))
    bounds = [0.0, *[float(c) for c in cuts], float(6 * n + rng.randint(1, 4))]
    objs = rng.sample(OBJECTS, n)
    shots = [
        {"start": bounds[i], "end": bounds[i + 1], "object": objs[i], "colour": rng.choice(COLOURS)} for i in range(n)
    ]
    segs = []
    for phrase in rng.sample(PHRASES, 2):
        start = round(rng.uniform(0, bounds[-1] - 3), 2)
        segs.append({"start": start, "end": round(start + rng.uniform(1.0, 2.5), 2), "text": phrase})
    return {"shots": shots, "segments": sorted(segs, key=lambda s: s["start"]), "duration": bounds[-1]}


def text_view(video: dict) -> str:
    """The video in the layout of `trainers.textview.text_view`."""
    lines = [f"Video: {video['duration']:.2f}s long.", "Shots:"]
    for i, s in enumerate(video["shots"], start=1):
        lines.append(f"Shot {i} [{s['start']:.2f}–{s['end']:.2f}s]: {s['object']}; colours {s['colour']}")
    lines += ["", "Transcript:"]
    lines += [f"[{g['start']:.2f}–{g['end']:.2f}s] {g['text']}" for g in video["segments"]]
    return "\n".join(lines) + "\n\n"


def _tasks(video: dict, rng: random.Random) -> list[dict]:
    shots = video["shots"]
    k = rng.randrange(len(shots))
    s = shots[k]
    letters = "ABCD"
    others = rng.sample([o for o in OBJECTS if o != s["object"]], 3)
    opts = [s["object"], *others]
    rng.shuffle(opts)
    right = letters[opts.index(s["object"])]
    seg = rng.choice(video["segments"])
    order = list(range(len(shots)))
    while order == sorted(order):
        rng.shuffle(order)
    clip_of = {shot: i for i, shot in enumerate(order, start=1)}
    clips = "\n".join(f"{i}. {shots[j]['object']}" for i, j in enumerate(order, start=1))
    in_time = ", ".join(str(clip_of[j]) for j in range(len(shots)))
    return [
        {"type": "multiple choice", "question": f"What is visible in shot {k + 1}?",
         "options": [f"{letter}. {o}" for letter, o in zip(letters, opts, strict=True)], "answer": right,
         "think": f"Shot {k + 1} [{s['start']:.2f}–{s['end']:.2f}s] shows {s['object']}, option {right}."},
        {"type": "numerical", "question": "How many shots does the video have?", "options": [],
         "answer": str(len(shots)), "think": f"The shot list goes from shot 1 to shot {len(shots)}."},
        {"type": "span", "question": f'When is "{seg["text"]}" said?', "options": [],
         "answer": f"[{seg['start']:.2f}, {seg['end']:.2f}]",
         "think": f"The transcript has \"{seg['text']}\" at [{seg['start']:.2f}–{seg['end']:.2f}s]."},
        {"type": "ordering",
         "question": f"These clips from the video are listed out of order:\n{clips}\n"
                     "In what order do they appear in the video? List the clip numbers.",
         "options": [], "answer": in_time,
         "think": "In time order the shots show " + ", ".join(x["object"] for x in shots) + "."},
    ]  # fmt: skip


def build_pool(root: Path | str, videos: int = 60, test_fraction: float = 0.2, seed: int = 0) -> dict[str, int]:
    """Write ``sft`` and ``rl`` tables for ``videos`` synthetic videos (4 tasks each) to a dataset at ``root``.

    Returns row counts per split. Difficulty is fixed per problem type (ordering hardest) so DGRPO has signal.
    """
    rng = random.Random(seed)
    difficulty = {"multiple choice": 0.3, "numerical": 0.2, "span": 0.6, "ordering": 0.8}
    sft, rl = [], []
    counts = {"train": 0, "test": 0}
    n_test = max(1, round(videos * test_fraction))
    for v in range(videos):
        video = _video(rng)
        split = "test" if v < n_test else "train"
        vid = f"synthetic-{seed}-{v:04d}"
        for t, task in enumerate(_tasks(video, rng)):
            options = task["options"]
            user = TASK_USER.render(
                view=text_view(video),
                question=task["question"],
                options=("Options:\n" + "\n".join(options) + "\n") if options else "",
                answer_format=answer_format(task["type"]),
            )
            prompt = [Message("system", TASK_SYSTEM.text), Message("user", user)]
            completion = f"<think>{task['think']}</think><answer>{task['answer']}</answer>"
            sid = f"{vid}-{t}"
            common = {"sample_id": sid, "task_id": sid, "video_id": vid, "split": split,
                      "problem_type": task["type"], "provenance": PROVENANCE}  # fmt: skip
            sft.append(SftRecord(**common, messages=[*prompt, Message("assistant", completion)], video_path=""))
            rl.append(RlRecord(**common, prompt=prompt, solution=task["answer"], options=options,
                               difficulty=difficulty[task["type"]]))  # fmt: skip
            counts[split] += 1
    with DatasetWriter(root) as w:
        w.append("sft", sft)
        w.append("rl", rl)
        w.commit(config={"synthetic": {"videos": videos, "seed": seed}})
    return counts
