"""The overview's numbers: the data card's statistics (`data_cards.stats.collect_stats`) when that module is
installed, else the browser's own counts; both in one shape the overview page renders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb

from flows.browse.queries import overview as q

log = logging.getLogger(__name__)


@dataclass
class Overview:
    source: str  # where the numbers came from, shown under them
    headline: list[tuple[str, str]] = field(default_factory=list)
    pools: list[tuple[str, str, int]] = field(default_factory=list)  # pool, split, rows
    problem_types: list[tuple[str, int, int, int]] = field(default_factory=list)  # type, tasks, sft, rl
    rejects: list[tuple[str, str, int, str]] = field(default_factory=list)  # stage, reason, count, link
    models: list[tuple[str, int, int]] = field(default_factory=list)  # drafting model, chains, accepted
    checks: list[tuple[str, int, int]] = field(default_factory=list)  # verifier check, chains judged, failed
    sources: list[tuple[str, int, int]] = field(default_factory=list)  # cot.source, chains, accepted
    notes: list[tuple[str, str]] = field(default_factory=list)
    revisions: list[tuple[int, str, str, int]] = field(default_factory=list)  # rev, created, command, rows


def rejects_link(stage: str, reason: str, source: str = "rejects") -> str:
    """Where the examples of one reject reason are: verifier verdicts are chains, everything else `rejects` rows."""
    if source == "cot":
        # The card counts chains rejected without a reason code as 'unspecified'.
        query = {"verdict": "rejected"} if reason in ("", "unspecified") else {"verdict": "rejected", "reason": reason}
        return "/samples?" + urlencode(query)
    return "/rejects?" + urlencode({"stage": stage, "reason": reason})


def prompt_answerable_note(share: float, flagged: int, in_pools: int) -> tuple[str, str]:
    """The overview's line on tasks whose prompt prints the answer, and whether they reached the pools."""
    where = "all kept out of the pools" if not in_pools else f"{in_pools} in the pools"
    return ("tasks the prompt answers (duration, shot list)", f"{100 * share:.0f}% ({flagged}, {where})")


def _minutes(seconds_or_hours: float, hours: bool = False) -> str:
    minutes = seconds_or_hours * 60 if hours else seconds_or_hours / 60
    return f"{minutes / 60:.1f} h" if minutes >= 120 else f"{minutes:.1f} min"


def load(con: duckdb.DuckDBPyConnection, root: Path, revision: int | None) -> Overview:
    from data_cards.stats import collect_stats

    try:
        return from_card(collect_stats(root, revision))
    except Exception as e:  # the overview still shows its own counts; the log has the traceback
        log.warning("data card statistics failed, showing the browser's own counts: %s", e, exc_info=True)
        fallback = from_counts(con)
        fallback.source = f"the browser's own counts (the data card statistics failed: {e})"
        return fallback


def from_card(stats: Any) -> Overview:
    """The overview from a `schemas.card.CardStats`."""
    chains = sum(m.chains for m in stats.acceptance)
    accepted = sum(m.accepted for m in stats.acceptance)
    rows = stats.table_rows
    o = Overview(source=f"data card statistics (data_cards.stats), revision {stats.revision}")
    o.headline = [
        ("videos kept · rejected", f"{stats.videos} · {stats.videos_rejected}"),
        ("video", _minutes(stats.hours, hours=True)),
        ("speech", f"{stats.speech_minutes:.1f} min"),
        ("shots", str(stats.shots)),
        ("keyframes", str(stats.keyframes)),
        ("tasks", str(rows.get("tasks", 0))),
        ("chains accepted", f"{accepted} / {chains}"),
        ("sft · rl · pairs", f"{rows.get('sft', 0)} · {rows.get('rl', 0)} · {rows.get('pairs', 0)}"),
    ]
    o.pools = [(pool, split, n) for pool, splits in stats.pool_rows.items() for split, n in splits.items()]
    types = stats.problem_types
    names = list(types.get("tasks", {})) + [t for t in types.get("rl", {}) if t not in types.get("tasks", {})]
    o.problem_types = [
        (t, types.get("tasks", {}).get(t, 0), types.get("sft", {}).get(t, 0), types.get("rl", {}).get(t, 0))
        for t in names
    ]
    o.rejects = [(r.stage, r.reason, r.count, rejects_link(r.stage, r.reason)) for r in stats.rejects]
    o.rejects += [
        ("verify", reason, n, rejects_link("verify", reason, "cot")) for reason, n in stats.cot_reject_reasons.items()
    ]
    o.rejects.sort(key=lambda r: (-r[2], r[0], r[1]))
    o.models = [(m.model, m.chains, m.accepted) for m in stats.acceptance]
    o.checks = [(c.check, c.checked, c.failed) for c in getattr(stats, "check_acceptance", [])]
    o.sources = [(a.source, a.chains, a.accepted) for a in getattr(stats, "source_acceptance", [])]
    if stats.subtitle_leak_share is not None:
        o.notes.append(("tasks answerable from the transcript alone", f"{100 * stats.subtitle_leak_share:.0f}%"))
    if getattr(stats, "prompt_answerable_share", None) is not None:
        o.notes.append(
            prompt_answerable_note(
                stats.prompt_answerable_share, stats.prompt_answerable_tasks, stats.prompt_answerable_in_pools
            )
        )
    if stats.languages:
        o.notes.append(("speech by language", ", ".join(f"{k} {v:.1f} min" for k, v in stats.languages.items())))
    if stats.citation_accuracy is not None and stats.citation_accuracy.all is not None:
        c = stats.citation_accuracy
        o.notes.append(("citation accuracy (accepted / all chains)", f"{c.accepted or 0:.2f} / {c.all:.2f}"))
    o.revisions = [(r.revision, r.created, r.command, r.rows_added) for r in stats.revisions]
    return o


def from_counts(con: duckdb.DuckDBPyConnection) -> Overview:
    """The overview from the browser's own aggregate queries (when data_cards.stats is not installed)."""
    c = q.counts(con)
    o = Overview(source="the browser's own counts (data_cards.stats is not available)")
    pools = q.pools_by_split(con)
    per_pool = {p: sum(r["n"] for r in pools if r["pool"] == p) for p in ("sft", "rl", "pairs")}
    o.headline = [
        ("videos kept · rejected", f"{c['videos_kept']} · {c['videos_rejected']}"),
        ("video", _minutes(c["video_minutes"] * 60)),
        ("speech", f"{c['speech_minutes']:.1f} min"),
        ("shots", str(c["shots"])),
        ("keyframes", str(c["keyframes"])),
        ("tasks", str(c["tasks"])),
        ("chains accepted", f"{c.get('accepted') or 0} / {c.get('drafted') or 0}"),
        ("sft · rl · pairs", f"{per_pool['sft']} · {per_pool['rl']} · {per_pool['pairs']}"),
    ]
    o.pools = [(r["pool"], r["split"], r["n"]) for r in pools]
    o.problem_types = [(r["problem_type"], r["tasks"], r["sft"], r["rl"]) for r in q.tasks_by_type(con)]
    o.checks = [(r["name"], r["checked"], r["failed"]) for r in q.check_acceptance(con)]
    o.sources = [(r["source"], r["chains"], r["accepted"]) for r in q.source_acceptance(con)]
    flagged = q.prompt_answerable(con)
    if flagged is not None and c["tasks"]:
        o.notes.append(prompt_answerable_note(flagged["flagged"] / c["tasks"], flagged["flagged"], flagged["in_pools"]))
    o.rejects = [
        (r["stage"], r["reason"], r["n"], rejects_link(r["stage"], r["reason"], r["source"]))
        for r in q.reject_reasons(con)
    ]
    return o
