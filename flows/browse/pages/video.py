"""One video: its shots on a timeline with keyframes and speech, the evidence detected in each keyframe, the
transcript with times, and the tasks and rejects that came from it."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from flows.browse.context import NotFound, Request
from flows.browse.filters import page_number
from flows.browse.layout import badge, page, pager
from flows.browse.markup import Html, definition_list, h, join, link, path_part, seconds, table, tag
from flows.browse.queries.videos import SHOTS_PER_PAGE, video


def _pct(t: float, duration: float) -> str:
    return f"{max(0.0, min(100.0, 100 * t / duration)):.3f}%"


def timeline(
    shots: list[dict], frames: list[dict], segments: list[dict], duration: float, page_of: dict[str, int]
) -> Html:
    """Shots as blocks across the video's duration, keyframes as ticks (links to their evidence, on the page of
    shots that holds them), speech segments as bars underneath."""
    items: list[Html] = []
    for i, s in enumerate(shots):
        items.append(
            tag(
                "div",
                f"shot {i + 1}",
                class_="shot",
                title=f"shot {i + 1}: {seconds(s['start'])}–{seconds(s['end'])} ({s['transition_in']})",
                style=f"left:{_pct(s['start'], duration)};width:{_pct(s['end'] - s['start'], duration)}",
            )
        )
    for f in frames:
        items.append(
            tag(
                "a",
                "",
                class_="kf",
                href=f"?page={page_of.get(f['shot_id'], 1)}#{f['frame_id']}",
                title=f"keyframe at {seconds(f['time'])}",
                style=f"left:{_pct(f['time'], duration)}",
            )
        )
    for seg in segments:
        span = f"left:{_pct(seg['start'], duration)};width:{_pct(seg['end'] - seg['start'], duration)}"
        items.append(tag("div", "", class_="seg", title=f"{seconds(seg['start'])}: {seg['text']}", style=span))
    return tag("div", *items, class_="timeline", id="timeline")


def _boxes(objects: list[dict]) -> list[Html]:
    return [
        tag(
            "span",
            o["label"],
            class_="box",
            title=f"{o['label']} {o['score']:.2f}",
            style=f"left:{100 * o['x1']:.2f}%;top:{100 * o['y1']:.2f}%;"
            f"width:{100 * (o['x2'] - o['x1']):.2f}%;height:{100 * (o['y2'] - o['y1']):.2f}%",
        )
        for o in objects
    ]


def evidence(frame: dict[str, Any]) -> Html:
    """What the evidence backend saw in one keyframe, as text lines under its image."""
    if frame.get("backend") is None:
        return tag("div", "no evidence recorded", class_="muted")
    lines: list[tuple[str, Any]] = []
    objects = frame.get("objects") or []
    if objects:
        lines.append(("objects", ", ".join(f"{o['label']} {o['score']:.2f}" for o in objects)))
    if frame.get("ocr_text"):
        lines.append(("text", tag("q", frame["ocr_text"], class_="ocr")))
    if frame.get("colours"):
        lines.append(("colours", ", ".join(frame["colours"])))
    lines.append(("people / faces", f"{frame.get('people', 0)} / {frame.get('faces', 0)}"))
    lines.append(("brightness · motion", f"{frame.get('brightness') or 0:.2f} · {frame.get('motion') or 0:.2f}"))
    if frame.get("caption"):
        lines.append(("caption", frame["caption"]))
    lines.append(("backend", frame["backend"]))
    return tag(
        "div",
        *[tag("div", tag("span", k + ": ", class_="muted"), tag("span", v, class_="ev")) for k, v in lines],
        class_="evidence",
    )


def keyframe_with_evidence(frame: dict[str, Any]) -> Html:
    fid = frame["frame_id"]
    image = tag(
        "div",
        tag("img", src=f"/frame/{path_part(fid)}.jpg", alt=f"keyframe {fid}", loading="lazy", class_="keyframe"),
        *_boxes(frame.get("objects") or []),
        class_="frame-img",
    )
    return tag("figure", image, tag("figcaption", tag("strong", seconds(frame["time"])), evidence(frame)), id=fid)


def _transcript(segments: list[dict]) -> Html:
    if not segments:
        return tag("p", "No speech was transcribed.", class_="muted")
    return table(
        ["start", "end", "text", "language", "avg log-prob"],
        [
            [
                seconds(s["start"]),
                seconds(s["end"]),
                tag("span", s["text"], class_="segment-text"),
                s["language"],
                s["avg_logprob"],
            ]
            for s in segments
        ],
        class_="transcript",
    )


def _shots(req: Request, found: dict[str, Any], current: int) -> Html:
    """One page of shots, each with its keyframes and their evidence."""
    by_shot: dict[str, list[dict]] = {}
    for f in found["frames"]:
        by_shot.setdefault(f["shot_id"], []).append(f)
    first = (current - 1) * SHOTS_PER_PAGE
    rows: list[Html] = []
    for i, s in enumerate(found["shots"][first : first + SHOTS_PER_PAGE], start=first):
        rows.append(
            tag(
                "div",
                tag("h3", f"Shot {i + 1} · {seconds(s['start'])}–{seconds(s['end'])} · {s['transition_in']}"),
                tag("div", *[keyframe_with_evidence(f) for f in by_shot.get(s["shot_id"], [])], class_="frames"),
                class_="shotrow",
            )
        )
    if not rows:
        return tag("p", "No shots." if not found["shots"] else "No shots on this page.", class_="muted")
    shots = tag("div", *rows, class_="shots")
    if len(found["shots"]) <= SHOTS_PER_PAGE:
        return shots
    base = f"/video/{path_part(req.arg)}"
    paging = pager(len(found["shots"]), current, SHOTS_PER_PAGE, lambda p: f"{base}?page={p}")
    return Html(paging + shots + paging)


def render(req: Request) -> Html:
    current = page_number(req.param("page"))
    found = video(req.con, req.arg, current)
    if found is None:
        raise NotFound(f"no video with id {req.arg!r}")
    v = found["video"]
    duration = float(v["duration"] or max([s["end"] for s in found["shots"]] + [1.0]))
    page_of = {s["shot_id"]: i // SHOTS_PER_PAGE + 1 for i, s in enumerate(found["shots"])}
    facts = [
        ("video id", tag("code", v["video_id"])),
        ("path", tag("code", v["path"])),
        ("status", badge("accepted") if v["status"] == "ok" else badge(v["status"])),
        ("duration", seconds(v["duration"])),
        (
            "picture",
            f"{v['width']}×{v['height']} {v['video_codec'] or ''} at {v['fps'] or 0:.2f} fps"
            + (" (variable frame rate)" if v["vfr"] else ""),
        ),
        ("audio", f"{v['audio_codec']} {v['audio_sample_rate']} Hz" if v["has_audio"] else "none"),
        ("size", f"{v['size_bytes'] / 2**20:.2f} MiB"),
    ]
    parts: list[Html] = [definition_list(facts)]
    parts.append(tag("h2", "Timeline"))
    parts.append(timeline(found["shots"], found["keyframe_times"], found["segments"], duration, page_of))
    parts.append(tag("p", "blocks: shots · ticks: keyframes · orange: speech", class_="muted"))
    parts.append(tag("h2", f"Shots and keyframes ({len(found['shots'])} shots)"))
    parts.append(_shots(req, found, current))
    parts.append(tag("h2", "Transcript"))
    parts.append(_transcript(found["segments"]))
    parts.append(tag("h2", f"Tasks ({len(found['tasks'])})"))
    parts.append(
        table(
            ["question", "problem type", "split", "verdict"],
            [
                [
                    link(f"/sample/{path_part(t['task_id'])}", t["question"]),
                    t["problem_type"],
                    t["split"],
                    badge({True: "accepted", False: "rejected", None: "not drafted"}[t["accepted"]]),
                ]
                for t in found["tasks"]
            ],
        )
        if found["tasks"]
        else tag("p", "No tasks.", class_="muted")
    )
    if found["rejects"]:
        parts.append(tag("h2", f"Rejects ({len(found['rejects'])})"))
        parts.append(
            table(
                ["stage", "reason", "detail", "item"],
                [[r["stage"], r["reason"], r["detail"], r["item_id"]] for r in found["rejects"]],
            )
        )
    name = PurePath(v["path"]).name
    return page(
        name, join(parts), req.label, heading=Html(h(name) + " " + tag("span", v["video_id"][:12], class_="muted mono"))
    )
