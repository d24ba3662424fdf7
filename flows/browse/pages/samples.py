"""The sample list: filters by pool, split, problem type, verdict, reject reason and video; paged."""

from __future__ import annotations

from pathlib import PurePath

from flows.browse.context import Request
from flows.browse.filters import PAGE_SIZE, POOLS, VERDICTS, SampleFilters, clamp_page
from flows.browse.layout import badge, page, pager
from flows.browse.markup import Html, h, link, path_part, table, tag
from flows.browse.queries.samples import filter_choices, list_samples

LABELS = {
    "pool": "pool",
    "split": "split",
    "problem_type": "problem type",
    "verdict": "verdict",
    "reason": "reject reason",
}


def _select(name: str, current: str, choices: list[str]) -> Html:
    """A <select> with an 'any' choice; the current value is kept even when the dataset has no such value."""
    values = list(choices) + ([current] if current and current not in choices else [])
    options = [tag("option", "any", value="")] + [tag("option", v, value=v, selected=(v == current)) for v in values]
    return tag("label", LABELS[name], tag("select", *options, name=name, id=f"f-{name}"))


def filter_form(req: Request, filters: SampleFilters) -> Html:
    choices = filter_choices(req.con)
    fields = [
        _select("pool", filters.pool, list(POOLS)),
        _select("split", filters.split, choices["split"]),
        _select("problem_type", filters.problem_type, choices["problem_type"]),
        _select("verdict", filters.verdict, list(VERDICTS)),
        _select("reason", filters.reason, choices["reason"]),
    ]
    if filters.video:
        fields.append(tag("input", type="hidden", name="video", value=filters.video))
        fields.append(tag("span", "video ", tag("code", filters.video[:12]), class_="muted"))
    fields.append(tag("button", "Filter", type="submit", id="apply"))
    if filters.active():
        fields.append(link("/samples", "clear"))
    return tag("form", *fields, method="get", action="/samples", class_="filters")


def pools_of(row: dict) -> str:
    return ", ".join(p for p in ("sft", "rl", "pairs") if row.get(f"in_{p}")) or "–"


def render(req: Request) -> Html:
    filters = SampleFilters.from_query(req.query)
    total, found = list_samples(req.con, filters)
    rows = [
        [
            link(f"/sample/{path_part(r['task_id'])}", r["question"]),
            r["problem_type"],
            r["split"],
            badge(r["verdict"] if r["verdict"] != "rejected" else (r["reject_reason"] or "rejected")),
            pools_of(r),
            "–" if r["difficulty"] is None else f"{r['difficulty']:.2f}",
            link(
                f"/video/{path_part(r['video_id'])}",
                PurePath(r["video_path"]).name if r["video_path"] else tag("code", r["video_id"][:12]),
            ),
        ]
        for r in found
    ]
    body = Html(
        filter_form(req, filters)
        + pager(total, clamp_page(filters.page, total), PAGE_SIZE, lambda p: "/samples?" + filters.query_string(page=p))
        + table(
            ["question", "problem type", "split", "verdict", "pools", "difficulty", "video"], rows, class_="samples"
        )
    )
    title = f"Samples ({total})"
    return page(title, body, req.label, heading=h(title))
