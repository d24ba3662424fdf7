"""The HTTP server: standard-library `ThreadingHTTPServer` on 127.0.0.1, read-only, GET and HEAD only."""

from __future__ import annotations

import errno
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb

from flows.browse.context import NotFound, Request
from flows.browse.layout import page
from flows.browse.markup import Html, h, link, tag
from flows.browse.routes import Handler, Response, resolve
from flows.browse.store import DatasetViews
from flows.errors import UserError

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
# No script runs on these pages, whatever the data holds; images and styles come only from this server.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class BrowseServer(ThreadingHTTPServer):
    """Serves one dataset. `port=0` picks a free port; `url` says which one was bound."""

    daemon_threads = True

    def __init__(self, root: Path | str, port: int = 0, revision: int | None = None) -> None:
        self.root = Path(root).resolve()
        self.revision = revision
        self.views = DatasetViews(self.root, revision)
        self.label = str(root) + (f" @ revision {revision}" if revision is not None else "")
        try:
            super().__init__((HOST, port), BrowseHandler)
        except OSError as e:
            self.views.close()
            if e.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {HOST} is already in use; choose another with --port") from None
            raise UserError(f"cannot serve on {HOST}:{port}: {e.strerror or e}") from None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def serves_host(self, host: str | None) -> bool:
        """Whether a request's `Host` header names this server: the loopback address it bound or `localhost`, with
        or without its port. Anything else is refused, so a web page whose own name resolves to 127.0.0.1 (DNS
        rebinding) cannot read the dataset through the visitor's browser."""
        if host is None:
            return False
        port = self.server_address[1]
        names = (HOST, "localhost")
        return host.strip().lower() in {*names, *(f"{n}:{port}" for n in names)}

    def server_close(self) -> None:
        super().server_close()
        self.views.close()

    def start_background(self) -> threading.Thread:
        """Serve on a daemon thread (for tests and embedding); stop with `shutdown()` then `server_close()`."""
        thread = threading.Thread(target=self.serve_forever, name="vidcot-browse", daemon=True)
        thread.start()
        return thread


def _refusal(status: HTTPStatus, message: str) -> Response:
    """A plain-text answer to a request for another host: it names nothing of the dataset."""
    return Response(status.value, "text/plain; charset=utf-8", f"{status.value} {status.phrase}: {message}\n".encode())


class BrowseHandler(BaseHTTPRequestHandler):
    server: BrowseServer
    server_version = "vidcot-browse"

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks up)
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        url = urlsplit(self.path)
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1:
            response = _refusal(HTTPStatus.BAD_REQUEST, "a request needs exactly one Host header")
        elif not self.server.serves_host(hosts[0]):
            response = _refusal(HTTPStatus.MISDIRECTED_REQUEST, f"this server answers only to {HOST} and localhost")
        elif (found := resolve(unquote(url.path))) is None:
            response = self._error(HTTPStatus.NOT_FOUND, f"nothing at {url.path}")
        else:
            handler, arg = found
            response = self._run(handler, arg, parse_qs(url.query))
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for k, v in {**SECURITY_HEADERS, **response.headers}.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _run(self, handler: Handler, arg: str, query: dict[str, list[str]]) -> Response:
        srv = self.server
        try:
            with srv.views.connection() as con:
                req = Request(con=con, root=srv.root, label=srv.label, arg=arg, query=query, revision=srv.revision)
                return handler(req)
        except NotFound as e:
            return self._error(HTTPStatus.NOT_FOUND, str(e))
        except duckdb.Error as e:
            log.exception("query failed for %s", self.path)
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"query failed: {str(e).splitlines()[0]}")
        except Exception as e:  # one bad page must not stop the server; the log has the traceback
            log.exception("page failed for %s", self.path)
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(e).__name__}: {e}")

    def _error(self, status: HTTPStatus, message: str) -> Response:
        body = Html(tag("p", message) + tag("p", link("/", "back to the overview")))
        markup = page(f"{status.value} {status.phrase}", body, self.server.label, heading=h(status.phrase))
        return Response(status.value, "text/html; charset=utf-8", markup.encode("utf-8"))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s %s", self.address_string(), format % args)
