"""Build the labelled chain set `chains_labelled.jsonl` (+ the views it needs, `chains_labelled_views.json`) from a
curated dataset: the real tasks of its videos, their skeletons (good), reworded skeletons (good), and deliberately
broken chains of several kinds (bad). `tests/test_compositional_verifier.py` measures the verifier on it.

    .venv/bin/python tests/data/chains_labelled_build.py out/demo [--per-task-cap N]

Labels are by construction: a skeleton is what the task's own evidence says, a rewording keeps every fact; each
mutation breaks one thing a verifier must catch (wrong answer, a skipped step, a step the evidence contradicts, an
invented object, a wrong time, an irrelevant citation, looping text, an answer the reasoning does not derive,
a truncated chain). A mutation that leaves the text unchanged is not written.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from curation.draft import compose_chain  # noqa: E402
from curation.skeleton import build_skeleton  # noqa: E402
from curation.tasks.base import TasksConfig, TasksStage  # noqa: E402
from schemas import TaskRecord, VideoView, from_arrow  # noqa: E402
from schemas.store.reader import Dataset  # noqa: E402
from trainers.claims import split_sentences  # noqa: E402
from trainers.textview import fmt_time, short_frame_id  # noqa: E402
from trainers.vocab import COCO_LABELS  # noqa: E402

HERE = Path(__file__).parent
CHAINS = HERE / "chains_labelled.jsonl"
VIEWS = HERE / "chains_labelled_views.json"
TABLES = ("shots", "segments", "words", "frames", "evidence")
SPAN = re.compile(r"\[(\d+\.\d+)–(\d+\.\d+)s\]")
POINT = re.compile(r"\[(\d+\.\d+)s\]")
KF = re.compile(r"\[kf [^\]]+\]")


def load_views(root: Path) -> tuple[dict[str, VideoView], list[TaskRecord]]:
    ds = Dataset(root)
    videos = {v.video_id: v for v in from_arrow("videos", ds.read("videos")) if v.status == "ok"}
    views = {vid: VideoView(video=v) for vid, v in videos.items()}
    for table in TABLES:
        for row in from_arrow(table, ds.read(table)):
            if row.video_id in views:
                if table == "frames":
                    row.jpeg = b""
                getattr(views[row.video_id], table).append(row)
    # The tasks the current generators make of these videos (balanced as the tasks stage balances them).
    tasks, _ = TasksStage(TasksConfig()).generate(list(views.values()))
    return views, tasks


# ----------------------------------------------------------------------------------------------------
# Rewordings (good): the same facts in other words


REWORDINGS = [
    (r"^Its keyframes (\[kf [^\]]+\]) show ", r"Looking at its keyframes \1, I can see "),
    (r"^That time falls in shot ", "This moment belongs to shot "),
    (r"^The phrase (\"[^\"]+\") is said at ", r"Someone says \1 at "),
    (r"^In shot (\d+) (\[[^\]]+\]), the keyframes? ", r"Shot \1 \2 is where the keyframes "),
    (r"^The next one, shot ", "After the cut comes shot "),
    (r"^That is option ([A-Z])", r"This matches option \1"),
    (r"^So, over the video ", "Counting over the whole video "),
    (r"^During that shot someone says ", "While that shot is on screen, someone says "),
]


def reword(think: str) -> str:
    out = []
    for s in split_sentences(think):
        for pat, rep in REWORDINGS:
            new = re.sub(pat, rep, s)
            if new != s:
                s = new
                break
        out.append(s)
    return " ".join(out)


# ----------------------------------------------------------------------------------------------------
# Mutations (bad)


def other_answer(task: TaskRecord, rng: random.Random) -> str | None:
    if task.options:
        letters = [o[0] for o in task.options if o[:1].isalpha() and o[0] != task.answer.strip()[:1]]
        return rng.choice(letters) if letters else None
    if task.problem_type in ("numerical", "regression"):
        try:
            x = float(task.answer)
        except ValueError:
            return None
        return str(int(x) + 2) if x.is_integer() else f"{x * 1.7 + 3:.2f}"
    if task.problem_type == "span" and task.span:
        a, b = task.span
        return f"[{a + 3.0:.2f}, {b + 3.0:.2f}]"
    if task.problem_type == "ordering":
        items = [x.strip() for x in task.answer.split(",")]
        return ", ".join(reversed(items)) if len(items) > 1 else None
    if task.problem_type == "OCR":
        return "CLOSED"
    return None


def wrong_answer(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    ans = other_answer(task, rng)
    return None if ans is None else (think, ans)


def skipped_step(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    said = split_sentences(think)
    if len(said) < 2:
        return None
    # a step that carries the reasoning: one with a citation, not the closing "That is option …"
    cited = [i for i, s in enumerate(said) if ("[" in s) and not s.startswith("That is option")]
    if not cited:
        return None
    drop = rng.choice(cited[:-1] or cited)
    return " ".join(s for i, s in enumerate(said) if i != drop), task.answer


def _labels(view: VideoView) -> set[str]:
    return {o.label.lower() for e in view.evidence for o in e.objects}


def contradicted_step(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    """A step's claim changed to what its evidence contradicts: a shown object swapped for one the video shows
    elsewhere, a count off by one, a shot number off by one, or a quoted text altered."""
    said = split_sentences(think)
    labels = sorted(_labels(view))
    for i in rng.sample(range(len(said)), len(said)):
        s = said[i]
        if "no " in s or " not " in s:
            continue
        m = re.search(r"\bshow(?:s)? (a|an|\d+) ([a-z ]+?)(?=[ .,\[])", s)
        if m and len(labels) > 1:
            lab = m.group(2)
            if m.group(1).isdigit():
                new = s.replace(m.group(0), f"show{'s' if 'shows' in m.group(0) else ''} {int(m.group(1)) + 1} {lab}")
            else:
                swap = [x for x in labels if x not in s and x != lab]
                if not swap:
                    continue
                new = s[: m.start(2)] + rng.choice(swap) + s[m.end(2) :]
            said[i] = new
            return " ".join(said), task.answer
        m = re.search(r"\bshot (\d+) \[", s)
        if m:
            said[i] = s[: m.start(1)] + str(int(m.group(1)) + 1) + s[m.end(1) :]
            return " ".join(said), task.answer
        m = re.search(r'the text "([^"]+)"', s)
        if m:
            said[i] = s.replace(m.group(0), f'the text "{m.group(1)} XQZ"')
            return " ".join(said), task.answer
    return None


def invented_object(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    said = split_sentences(think)
    present = _labels(view)
    absent = [x for x in ("giraffe", "elephant", "zebra", "surfboard", "airplane", "toaster") if x not in present]
    with_kf = [i for i, s in enumerate(said) if KF.search(s) and " no " not in s]
    if not with_kf or not absent or absent[0] not in COCO_LABELS:
        return None
    i = rng.choice(with_kf)
    kf = KF.findall(said[i])[-1]
    said.insert(i + 1, f"The keyframes {kf} also show a {rng.choice(absent)} next to it.")
    return " ".join(said), task.answer


def _shift(t: float, view: VideoView, by: float) -> float:
    dur = view.duration
    return round(t + by if t + by <= dur - 0.01 else max(0.0, t - by), 2)


def wrong_time(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    """The first cited time moved by a third of the video (keyframe citations dropped with it)."""
    by = max(3.0, view.duration / 3)
    said = split_sentences(think)
    for i, s in enumerate(said):
        m = SPAN.search(s) or POINT.search(s)
        if not m:
            continue
        if m.re is SPAN:
            a, b = float(m.group(1)), float(m.group(2))
            a2, b2 = _shift(a, view, by), _shift(b, view, by)
            if b2 <= a2:
                continue
            new = f"[{fmt_time(a2)}–{fmt_time(b2)}s]"
        else:
            new = f"[{fmt_time(_shift(float(m.group(1)), view, by))}s]"
        said[i] = s[: m.start()] + new + s[m.end() :]
        return " ".join(said), task.answer
    return None


def irrelevant_citation(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    """Every citation replaced by the span and keyframes of a shot the task's evidence does not touch."""
    own = set(task.evidence_ids)
    times = [(a, b) for s in split_sentences(think) for a, b in ((float(x), float(y)) for x, y in SPAN.findall(s))] + [
        (float(t), float(t)) for t in POINT.findall(think)
    ]
    far = [
        s for s in view.shots
        if s.shot_id not in own and not any(a <= s.end + 0.5 and b >= s.start - 0.5 for a, b in times)
    ]  # fmt: skip
    if not far or not times:
        return None
    shot = rng.choice(far)
    frames = [f for f in view.frames if f.shot_id == shot.shot_id]
    cite = f"[{fmt_time(shot.start)}–{fmt_time(shot.end)}s]"
    out = SPAN.sub(cite, think)
    out = POINT.sub(cite, out)
    kf = f"[kf {short_frame_id(frames[0].frame_id)}]" if frames else ""
    out = KF.sub(kf, out)
    out = re.sub(r"@ \d+\.\d+s\]", f"@ {fmt_time(shot.start)}s]", out)  # a box at the other shot's time
    return out, task.answer


def looping_text(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    said = split_sentences(think)
    s = said[0]
    words = s.rstrip(".").split()
    if len(words) < 4:
        return None
    loop = " ".join(words[-3:])
    return " ".join([s.rstrip(".") + (" " + loop) * 3 + ".", *said[1:]]), task.answer


def answer_not_derived(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    """A true statement that does not bear on the question (the colours of the keyframe farthest from the task's
    evidence), then the right answer."""
    own = [f.time for f in view.frames if f.frame_id in task.evidence_ids] or [0.0]
    named = " ".join(task.options + [task.answer, task.question]).lower()
    usable = [e for e in view.evidence if e.colours and not any(c.lower() in named for c in e.colours[:2])]
    far = max(usable, key=lambda e: min(abs(e.time - t) for t in own), default=None)
    if far is None:
        return None
    colours = " and ".join(far.colours[:2])
    text = f"At [{fmt_time(far.time)}s] [kf {short_frame_id(far.frame_id)}] the frame is mostly {colours}."
    return text + " This settles it.", task.answer


def truncated(task: TaskRecord, think: str, view: VideoView, rng: random.Random) -> tuple[str, str] | None:
    words = think.split()
    if len(words) < 8:
        return None
    cut = words[: len(words) // 2]
    while cut and cut[-1].lower() not in ("the", "a", "of", "in", "at", "show", "shows", "is"):
        cut.pop()
    return (" ".join(cut), task.answer) if cut else None


MUTATIONS = {
    "wrong_answer": wrong_answer,
    "skipped_step": skipped_step,
    "contradicted_step": contradicted_step,
    "invented_object": invented_object,
    "wrong_time": wrong_time,
    "irrelevant_citation": irrelevant_citation,
    "looping_text": looping_text,
    "answer_not_derived": answer_not_derived,
    "truncated": truncated,
}


def hand_built() -> tuple[dict[str, VideoView], list[TaskRecord]]:
    """The two hand-built videos of tests/test_skeleton.py (known evidence) and the tasks the generators make."""
    from tests.test_skeleton import shop, street

    views = {v.video_id: v for v in (street(), shop())}
    tasks, _ = TasksStage(TasksConfig()).generate(list(views.values()))
    return views, tasks


def build(root: Path, per_generator: int, seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, VideoView]]:
    views, tasks = load_views(root)
    extra_views, extra_tasks = hand_built()
    views |= extra_views
    tasks += extra_tasks
    rng = random.Random(seed)
    by_gen: dict[str, list[TaskRecord]] = defaultdict(list)
    for t in sorted(tasks, key=lambda t: t.task_id):
        by_gen[t.generator].append(t)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for gen in sorted(by_gen):
        picked = rng.sample(by_gen[gen], min(per_generator, len(by_gen[gen])))
        for task in picked:
            view = views[task.video_id]
            sk = build_skeleton(task, view)
            if sk is None:
                continue
            used.add(task.video_id)
            base = {"task": dataclasses.asdict(task)}
            rows.append({**base, "kind": "skeleton", "label": "good", "text": compose_chain(sk.think, sk.answer)})
            re_worded = reword(sk.think)
            if re_worded != sk.think:
                rows.append({**base, "kind": "reworded", "label": "good", "text": compose_chain(re_worded, sk.answer)})
            kinds = rng.sample(sorted(MUTATIONS), 5)
            for kind in kinds:
                made = MUTATIONS[kind](task, sk.think, view, rng)
                if made is None or (made[0] == sk.think and made[1] == sk.answer):
                    continue
                rows.append({**base, "kind": kind, "label": "bad", "text": compose_chain(*made)})
    for i, row in enumerate(rows):
        row["chain_id"] = f"c{i:04d}"
    return rows, {vid: views[vid] for vid in sorted(used)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", type=Path)
    p.add_argument("--per-generator", type=int, default=8)
    args = p.parse_args()
    rows, views = build(args.dataset, args.per_generator)
    hand = [r for r in _read(CHAINS) if r.get("kind") == "hand"] if CHAINS.exists() else []
    missing = {r["task"]["video_id"] for r in hand} - set(views)
    if missing:
        raise SystemExit(f"hand-written chains refer to videos no longer in the set: {sorted(missing)}")
    with CHAINS.open("w") as f:
        for row in rows + hand:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    VIEWS.write_text(json.dumps({vid: dataclasses.asdict(v) for vid, v in views.items()}, default=_bytes))
    print(f"{len(rows)} chains ({len(hand)} hand-written kept) over {len(views)} videos")


def _bytes(x: Any) -> Any:
    if isinstance(x, bytes):
        return ""
    raise TypeError(type(x))


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    main()
