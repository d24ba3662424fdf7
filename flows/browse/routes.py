"""URL routes: which page or file answers which path. Every route is a GET; nothing changes the dataset."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flows.browse.context import NotFound, Request
from flows.browse.markup import Html
from flows.browse.pages import overview, rejects, sample, samples, video, videos
from flows.browse.queries.videos import frame_jpeg

# Card plots are served by name only, from DATASET/card/: no path separators, no dot files.
PLOT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.png$")


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def html(markup: Html) -> Response:
    return Response(200, "text/html; charset=utf-8", markup.encode("utf-8"), {"Cache-Control": "no-cache"})


def frame(req: Request) -> Response:
    frame_id = req.arg.removesuffix(".jpg")
    data = frame_jpeg(req.con, frame_id)
    if data is None:
        raise NotFound(f"no keyframe with id {frame_id!r}")
    # A frame id names fixed bytes (ids are content-derived), so browsers may keep it.
    return Response(200, "image/jpeg", data, {"Cache-Control": "max-age=3600"})


def card_plot(req: Request) -> Response:
    if not PLOT_NAME.match(req.arg):
        raise NotFound(f"no plot named {req.arg!r}")
    path = req.root / overview.PLOT_DIR / req.arg
    if not path.is_file():
        raise NotFound(f"no plot named {req.arg!r}")
    return Response(200, "image/png", path.read_bytes(), {"Cache-Control": "no-cache"})


Handler = Callable[[Request], Response]
# (prefix, takes an argument after the prefix, handler); exact paths for list pages.
ROUTES: list[tuple[str, bool, Handler]] = [
    ("/", False, lambda r: html(overview.render(r))),
    ("/videos", False, lambda r: html(videos.render(r))),
    ("/samples", False, lambda r: html(samples.render(r))),
    ("/rejects", False, lambda r: html(rejects.render(r))),
    ("/video/", True, lambda r: html(video.render(r))),
    ("/sample/", True, lambda r: html(sample.render(r))),
    ("/frame/", True, frame),
    ("/card/", True, card_plot),
]


def resolve(path: str) -> tuple[Handler, str] | None:
    """The handler for a URL path and the argument it takes (an id), or None."""
    for prefix, takes_arg, handler in ROUTES:
        if not takes_arg and path == prefix:
            return handler, ""
        if takes_arg and path.startswith(prefix) and len(path) > len(prefix) and "/" not in path[len(prefix) :]:
            return handler, path[len(prefix) :]
    return None
