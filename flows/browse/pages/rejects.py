"""Examples of what was dropped: rows of the `rejects` table for one stage and reason (or one video); paged."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import urlencode

from flows.browse.context import Request
from flows.browse.filters import PAGE_SIZE, clamp_page, page_number
from flows.browse.layout import page, pager
from flows.browse.markup import Html, h, link, path_part, table, tag
from flows.browse.queries.overview import list_rejects


def render(req: Request) -> Html:
    stage, reason, video = req.param("stage"), req.param("reason"), req.param("video")
    current = page_number(req.param("page"))
    total, found = list_rejects(req.con, stage, reason, video, current)
    if clamp_page(current, total) != current:  # past the end: show the last page instead
        current = clamp_page(current, total)
        total, found = list_rejects(req.con, stage, reason, video, current)
    rows = [
        [
            r["stage"],
            r["reason"],
            tag("span", r["detail"], class_="detail"),
            link(f"/video/{path_part(r['video_id'])}", PurePath(r["path"] or r["video_id"]).name)
            if r["video_id"]
            else (PurePath(r["path"]).name if r["path"] else "–"),
            link(f"/sample/{path_part(r['task_id'])}", tag("code", r["item_id"]))
            if r["task_id"]
            else tag("code", r["item_id"]),
        ]
        for r in found
    ]
    kept = [(k, v) for k, v in (("stage", stage), ("reason", reason), ("video", video)) if v]

    def href(p: int) -> str:
        return "/rejects?" + urlencode(kept + ([("page", str(p))] if p != 1 else []))

    what = " · ".join(f"{k} {v}" for k, v in kept) or "all stages and reasons"
    body = Html(
        tag(
            "p",
            "Showing ",
            h(what),
            ". ",
            link("/rejects", "all") if kept else "",
            " Chains the verifier dropped are under ",
            link("/samples?verdict=rejected", "samples"),
            ".",
        )
        + pager(total, current, PAGE_SIZE, href)
        + table(["stage", "reason", "detail", "file", "item"], rows, class_="rejects")
    )
    return page(f"Rejects ({total})", body, req.label)
