"""One sample: the task, draft and refined chains side by side with the changes marked, the verifier's scores and
verdict, hard negatives, pools, split and difficulty, and the keyframes the task was built from."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from flows.browse.context import NotFound, Request
from flows.browse.diff import side_by_side
from flows.browse.layout import badge, page
from flows.browse.markup import Html, definition_list, h, join, link, path_part, seconds, table, tag
from flows.browse.queries.samples import sample

# Verifier columns shown in this order; any other numeric column of `cot` (newer datasets add some) follows.
SCORES = ("format_score", "accuracy", "grounding_draft", "grounding", "confidence")
NOT_SCORES = {
    "cot_id",
    "task_id",
    "video_id",
    "model",
    "draft",
    "refined",
    "predicted_answer",
    "accepted",
    "reject_reason",
    "reject_detail",
}


def keyframe(frame: dict[str, Any]) -> Html:
    fid = frame["frame_id"]
    return tag(
        "figure",
        tag("img", src=f"/frame/{path_part(fid)}.jpg", alt=f"keyframe {fid}", class_="keyframe"),
        tag("figcaption", f"{seconds(frame['time'])} · shot {frame['shot_id'].rsplit('-', 1)[-1]}"),
    )


def _scores(chain: dict[str, Any]) -> Html:
    names = list(SCORES) + sorted(
        k
        for k, v in chain.items()
        if k not in NOT_SCORES and k not in SCORES and isinstance(v, int | float) and not isinstance(v, bool)
    )
    cells = [(n.replace("_", " "), chain.get(n)) for n in names]
    cells.append(("predicted answer", chain.get("predicted_answer")))
    cells.append(("model", chain.get("model")))
    return definition_list(cells)


def _chain(chain: dict[str, Any]) -> Html:
    verdict = "accepted" if chain["accepted"] else (chain["reject_reason"] or "rejected")
    left, right, changes = side_by_side(chain["draft"] or "", chain["refined"])
    changed = "unchanged by refinement" if changes == 0 else f"{changes} change{'s' if changes != 1 else ''}"
    return tag(
        "section",
        tag("h2", "Chain ", tag("code", chain["cot_id"]), " ", badge(verdict)),
        tag("p", chain["reject_detail"], class_="muted") if chain.get("reject_detail") else "",
        _scores(chain),
        tag(
            "div",
            tag("div", tag("h3", "draft"), tag("div", left, class_="chain draft")),
            tag(
                "div",
                tag("h3", "refined ", tag("span", f"({changed})", class_="muted")),
                tag("div", right, class_="chain refined"),
            ),
            class_="chains",
        ),
        class_="cot",
    )


def render(req: Request) -> Html:
    found = sample(req.con, req.arg)
    if found is None:
        raise NotFound(f"no sample with task id {req.arg!r}")
    task = found["task"]
    difficulty = next((p["difficulty"] for p in found["pools"] if p["difficulty"] is not None), None)
    video_name = PurePath(task["video_path"]).name if task.get("video_path") else task["video_id"][:12]
    facts = [
        ("task", tag("code", task["task_id"])),
        (
            "video",
            Html(
                link(f"/video/{path_part(task['video_id'])}", video_name)
                + " · "
                + link(f"/samples?video={path_part(task['video_id'])}", "its other samples")
            ),
        ),
        ("problem type", task["problem_type"]),
        ("generator", task["generator"]),
        ("split", task["split"]),
        ("difficulty", "–" if difficulty is None else f"{difficulty:.2f}"),
        ("subtitle leak", "yes (answerable from the transcript)" if task["subtitle_leak"] else "no"),
        ("answer", tag("strong", task["answer"])),
    ]
    if task.get("options"):
        facts.append(("options", tag("ul", *[tag("li", o) for o in task["options"]], class_="plain")))
    if task.get("span"):
        facts.append(("span", " – ".join(seconds(t) for t in task["span"])))
    parts: list[Html] = [definition_list(facts)]
    parts.append(tag("h2", "Keyframes"))
    parts.append(
        tag("div", *[keyframe(f) for f in found["frames"]], class_="frames")
        if found["frames"]
        else tag("p", "No keyframes.", class_="muted")
    )
    if found["chains"]:
        parts.extend(_chain(c) for c in found["chains"])
    else:
        parts.append(tag("p", badge("not drafted"), " no chain was drafted for this task."))
    parts.append(tag("h2", "Hard negatives"))
    parts.append(
        table(
            ["kind", "value", "score", "against"],
            [[n["kind"], n["value"], n["score"], tag("code", n["anchor_id"])] for n in found["negatives"]],
        )
        if found["negatives"]
        else tag("p", "None.", class_="muted")
    )
    parts.append(tag("h2", "Pools"))
    parts.append(
        table(
            ["pool", "row", "split", "difficulty", "solution / pair reason"],
            [[p["pool"], tag("code", p["id"]), p["split"], p["difficulty"], p["detail"]] for p in found["pools"]],
        )
        if found["pools"]
        else tag("p", "In no pool.", class_="muted")
    )
    for pair in found["pairs"]:
        parts.append(
            tag(
                "details",
                tag("summary", "preference pair ", tag("code", pair["pair_id"]), f" ({pair['reason']})"),
                tag(
                    "div",
                    tag("div", tag("h3", "chosen"), tag("div", pair["chosen"], class_="chain")),
                    tag("div", tag("h3", "rejected"), tag("div", pair["rejected"], class_="chain")),
                    class_="chains",
                ),
            )
        )
    return page(f"Sample {task['task_id']}", join(parts), req.label, heading=h(task["question"]))
