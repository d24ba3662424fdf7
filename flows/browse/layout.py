"""The page shell shared by every view: header, navigation and the style sheet."""

from __future__ import annotations

from collections.abc import Callable
from string import Template

from flows.browse.markup import Html, h, link, tag

STYLE = """
:root { --fg:#1d2330; --muted:#5d6575; --line:#d9dde5; --bg:#f6f7f9; --accent:#2456c7; --ok:#217a3c; --bad:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:#fff; }
header { background:#1d2330; color:#fff; padding:10px 24px; display:flex; gap:24px; align-items:baseline; }
header .brand { font-weight:700; font-size:16px; }
header a { color:#c9d6ff; text-decoration:none; } header a:hover { text-decoration:underline; }
header .ds { color:#9aa3b5; margin-left:auto; font-family:ui-monospace, monospace; font-size:12px; }
main { padding:16px 24px 48px; max-width:1400px; }
h1 { font-size:20px; margin:8px 0 12px; } h2 { font-size:16px; margin:24px 0 8px; }
h3 { font-size:14px; margin:12px 0 6px; }
a { color:var(--accent); }
table { border-collapse:collapse; margin:4px 0 12px; }
th, td { border-bottom:1px solid var(--line); padding:4px 10px 4px 0; text-align:left; vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.num, th.num { text-align:right; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:2px 16px; margin:4px 0 12px; }
dt { color:var(--muted); } dd { margin:0; }
code, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.muted { color:var(--muted); }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:8px 0 16px; }
.card { border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:120px; background:var(--bg); }
.card .v { font-size:20px; font-weight:700; } .card .k { color:var(--muted); font-size:12px; }
.cols { display:flex; flex-wrap:wrap; gap:32px; }
.plots figure { width:380px; } .plots img { width:380px; border:1px solid var(--line); }
.nowrap { white-space:nowrap; }
form.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:end; background:var(--bg);
  border:1px solid var(--line); border-radius:6px; padding:8px 12px; margin:8px 0 12px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); }
.pager { display:flex; gap:12px; align-items:center; margin:8px 0; }
.badge { display:inline-block; padding:0 6px; border-radius:4px; font-size:12px; font-weight:600; }
.badge.ok { background:#e3f4e8; color:var(--ok); } .badge.bad { background:#fbe5e3; color:var(--bad); }
.badge.none { background:#eceef2; color:var(--muted); }
.timeline { position:relative; height:34px; background:var(--bg); border:1px solid var(--line); border-radius:4px;
  margin:8px 0 4px; }
.timeline .shot { position:absolute; top:0; bottom:0; border-right:2px solid #fff; background:#c9d6ff;
  font-size:11px; padding:2px 4px; overflow:hidden; white-space:nowrap; }
.timeline .shot:nth-child(even) { background:#a9bdf5; }
.timeline .kf { position:absolute; top:-4px; width:2px; height:40px; background:#1d2330; }
.timeline .seg { position:absolute; bottom:2px; height:6px; background:#f0a020; border-radius:2px; }
.shots { display:flex; flex-direction:column; gap:10px; }
.shotrow { border:1px solid var(--line); border-radius:6px; padding:8px; }
.frames { display:flex; flex-wrap:wrap; gap:10px; }
figure { margin:0; width:240px; } figure img { width:240px; border-radius:4px; display:block; }
figcaption { font-size:12px; color:var(--muted); }
.frame-img { position:relative; } .frame-img .box { position:absolute; border:2px solid #f0a020; color:#fff;
  font-size:10px; line-height:1; background:rgba(240,160,32,.15); }
.evidence div { overflow-wrap:anywhere; }
figcaption .ev { color:var(--fg); }
.chains { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.chain { white-space:pre-wrap; word-wrap:break-word; border:1px solid var(--line); border-radius:6px; padding:10px;
  background:var(--bg); font-family:ui-monospace, monospace; font-size:12.5px; }
ins { background:#cdeccf; text-decoration:none; } del { background:#f7cfcb; }
ul.plain { padding-left:18px; margin:4px 0; }
"""

PAGE = Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title · vidcot browse</title>
<style>$style</style></head>
<body><header><span class="brand">vidcot browse</span>$nav<span class="ds">$dataset</span></header>
<main><h1>$heading</h1>
$body
</main></body></html>
"""
)

NAV = (("/", "Overview"), ("/videos", "Videos"), ("/samples", "Samples"), ("/rejects", "Rejects"))


def page(title: str, body: Html, dataset: str, heading: Html | None = None) -> Html:
    """A full HTML page. `title` and `dataset` are escaped here; `body` must already be `Html`."""
    nav = tag("nav", *[Html(link(href, text) + " ") for href, text in NAV])
    return Html(
        PAGE.substitute(
            title=h(title),
            style=STYLE,
            nav=nav,
            dataset=h(dataset),
            heading=heading if heading is not None else h(title),
            body=body,
        )
    )


def badge(verdict: str | None) -> Html:
    """The verdict of a chain: accepted, a reject reason, or not drafted."""
    if verdict == "accepted":
        return tag("span", "accepted", class_="badge ok")
    if verdict is None or verdict == "not drafted":
        return tag("span", "not drafted", class_="badge none")
    return tag("span", verdict, class_="badge bad")


def pager(total: int, page: int, page_size: int, href: Callable[[int], str]) -> Html:
    """'rows a–b of n' with previous/next links; `href(page)` gives the link of a page."""
    if total == 0:
        return tag("p", "Nothing matches.", class_="muted pager")
    last = max(1, -(-total // page_size))
    first_row, last_row = (page - 1) * page_size + 1, min(page * page_size, total)
    parts: list[Html] = [
        tag(
            "span",
            f"rows {first_row}–{last_row} of {total}"
            if first_row <= total
            else f"page {page} is past the end ({total} rows)",
        )
    ]
    if page > 1:
        parts.append(link(href(min(page - 1, last)), "← previous", rel="prev"))
    if page < last:
        parts.append(link(href(page + 1), "next →", rel="next"))
    parts.append(tag("span", f"page {page} of {last}", class_="muted"))
    return tag("div", *parts, class_="pager")
