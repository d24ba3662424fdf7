"""The overview: the dataset's statistics and plots, pools, problem types, and reject reasons with counts that
link to examples."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlencode

from data_cards.plots import PLOT_DIR
from flows.browse.context import Request
from flows.browse.layout import page
from flows.browse.markup import Html, definition_list, join, link, path_part, table, tag
from flows.browse.overview_data import Overview, load
from flows.browse.store import manifest_stamp

_cache: dict[tuple[str, int | None], tuple[int, Overview]] = {}
_cache_lock = threading.Lock()


def overview(req: Request) -> Overview:
    """The overview's numbers, computed once per manifest version (a new revision recomputes them)."""
    key = (str(req.root), req.revision)
    stamp = manifest_stamp(req.root)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    data = load(req.con, req.root, req.revision)
    with _cache_lock:
        _cache[key] = (stamp, data)
    return data


def plots(root: Path) -> list[tuple[str, str]]:
    """(file name, caption) of the card's PNG plots that exist under DATASET/card/."""
    folder = root / PLOT_DIR
    if not folder.is_dir():
        return []
    try:
        from data_cards.plots import PLOTS

        captions = dict(PLOTS)
    except ImportError:
        captions = {}
    return [(p.name, captions.get(p.stem, p.stem.replace("_", " "))) for p in sorted(folder.glob("*.png"))]


def _rate(part: int, whole: int) -> str:
    """`part` of `whole` as a whole percentage; a dash when `whole` is 0."""
    return f"{part / whole:.0%}" if whole else "–"


def render(req: Request) -> Html:
    o = overview(req)
    cards = tag(
        "div",
        *[tag("div", tag("div", v, class_="v"), tag("div", k, class_="k"), class_="card") for k, v in o.headline],
        class_="cards",
    )
    pools = table(
        ["pool", "split", "rows"],
        [[p, link("/samples?" + urlencode({"pool": p, "split": s}), s), n] for p, s, n in o.pools],
    )
    types = table(
        ["problem type", "tasks", "sft", "rl"],
        [[link("/samples?" + urlencode({"problem_type": t}), t), n, s, r] for t, n, s, r in o.problem_types],
    )
    rejects = (
        table(
            ["stage", "reason", "count"],
            [[st, link(href, rs), n] for st, rs, n, href in o.rejects],
            class_="reject-reasons",
        )
        if o.rejects
        else tag("p", "Nothing was rejected.", class_="muted")
    )
    parts: list[Html] = [
        cards,
        tag("p", "Numbers from ", o.source, ".", class_="muted source"),
        tag(
            "div",
            tag("div", tag("h2", "Pools"), pools),
            tag("div", tag("h2", "Problem types"), types),
            tag("div", tag("h2", "Reject reasons"), rejects),
            class_="cols",
        ),
    ]
    if o.models:
        models = [[m, n, a, _rate(a, n)] for m, n, a in o.models]
        parts += [tag("h2", "Chains by drafting model"), table(["model", "chains", "accepted", "rate"], models)]
    if o.sources:
        sources = [[src, n, a, _rate(a, n)] for src, n, a in o.sources]
        parts += [
            tag("h2", "Acceptance per source"),
            table(["source", "chains", "accepted", "rate"], sources, class_="source-acceptance"),
        ]
    if o.checks:
        checks = [[name, n, f, _rate(n - f, n)] for name, n, f in o.checks]
        parts += [
            tag("h2", "Acceptance per check"),
            table(["check", "chains judged", "failed", "passed"], checks, class_="check-acceptance"),
        ]
    if o.notes:
        parts.append(definition_list(o.notes))
    found = plots(req.root)
    if found:
        parts.append(tag("h2", "Plots"))
        parts.append(
            tag(
                "div",
                *[
                    tag("figure", tag("img", src=f"/card/{path_part(name)}", alt=caption), tag("figcaption", caption))
                    for name, caption in found
                ],
                class_="plots frames",
            )
        )

    if o.revisions:
        parts.append(tag("h2", "Revisions"))
        parts.append(
            table(
                ["revision", "created", "rows added", "command"],
                [[r, tag("span", c, class_="nowrap"), n, tag("code", cmd)] for r, c, cmd, n in o.revisions],
            )
        )
    return page("Overview", join(parts), req.label)
