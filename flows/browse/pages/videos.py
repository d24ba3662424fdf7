"""The video list: every input file with its status, duration and what came from it; paged."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import urlencode

from flows.browse.context import Request
from flows.browse.filters import PAGE_SIZE, clamp_page, page_number
from flows.browse.layout import badge, page, pager
from flows.browse.markup import Html, link, path_part, seconds, table, tag
from flows.browse.queries.videos import list_videos


def render(req: Request) -> Html:
    status = req.param("status")
    current = page_number(req.param("page"))
    total, found = list_videos(req.con, current, status)
    current = clamp_page(current, total)  # the page list_videos showed
    rows = [
        [
            link(f"/video/{path_part(v['video_id'])}", PurePath(v["path"]).name),
            badge("accepted") if v["status"] == "ok" else badge(v["status"]),
            seconds(v["duration"]),
            f"{v['width']}×{v['height']}" if v["width"] else "–",
            "yes" if v["has_audio"] else "no",
            v["shots"],
            link(f"/samples?video={path_part(v['video_id'])}", v["tasks"]) if v["tasks"] else 0,
            v["sft"],
            link(f"/rejects?video={path_part(v['video_id'])}", v["rejects"]) if v["rejects"] else 0,
        ]
        for v in found
    ]
    status_links = tag(
        "p",
        "show: ",
        link("/videos", "all"),
        " · ",
        link("/videos?status=ok", "kept"),
        " · ",
        link("/videos?status=rejected", "rejected"),
    )

    def href(p: int) -> str:
        return "/videos?" + urlencode([(k, v) for k, v in (("status", status), ("page", p)) if v and v != 1])

    body = Html(
        status_links
        + pager(total, current, PAGE_SIZE, href)
        + table(["file", "status", "duration", "size", "audio", "shots", "tasks", "sft rows", "rejects"], rows)
    )
    return page(f"Videos ({total})", body, req.label)
