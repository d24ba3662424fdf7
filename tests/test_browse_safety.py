"""`vidcot browse` answers only requests addressed to it, and no page number breaks a list.

Real HTTP over a socket: a browser tricked by DNS rebinding sends the attacker's name in `Host`, so only the
loopback address the server bound and `localhost` (with or without the port) are served; everything else is a 421
that names nothing of the dataset. Page numbers from the URL (huge, negative, not numbers) are clamped to the list,
never a 500 or a traceback in the log."""

from __future__ import annotations

import http.client
import logging
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.browse import BrowseServer
from tests.tiny_dataset import tiny_dataset

ROOT = Path(__file__).resolve().parents[1]
VIDCOT = Path(sys.executable).with_name("vidcot")
LISTS = ("/samples", "/videos", "/rejects")
ODD_PAGES = ("99999999999999999999", "-1", "-99999999999999999999", "0", "abc", "1e3", "", "9" * 5000, "%00", "2.5")


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory.mktemp("browse") / "ds", videos=3)


@pytest.fixture
def server(ds: Path) -> Iterator[BrowseServer]:
    srv = BrowseServer(ds, 0)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def request(port: int, path: str, hosts: list[str] | None, method: str = "GET") -> tuple[int, str, str]:
    """(status, content type, body) of one request with exactly the given Host headers (none for [])."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for host in hosts or []:
            conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read().decode("utf-8")
    finally:
        conn.close()


def test_loopback_and_localhost_are_served(server: BrowseServer) -> None:
    port = server.server_address[1]
    for host in (f"127.0.0.1:{port}", "127.0.0.1", f"localhost:{port}", "localhost", f"LocalHost:{port}"):
        status, kind, body = request(port, "/videos", [host])
        assert status == 200, host
        assert kind.startswith("text/html") and "Videos (3)" in body, host


def test_any_other_host_gets_421_and_learns_nothing(server: BrowseServer, ds: Path) -> None:
    port = server.server_address[1]
    forged = (
        "evil.example",
        f"evil.example:{port}",
        f"127.0.0.1.nip.io:{port}",
        f"localhost.evil.example:{port}",
        f"127.0.0.1:{port + 1}",
        f"localhost:{port + 1}",
        f"[::1]:{port}",
        f"0.0.0.0:{port}",
        "",
    )
    for host in forged:
        for path in ("/", "/samples", "/video/" + "0" * 64, "/frame/x.jpg"):
            for method in ("GET", "HEAD"):
                status, kind, body = request(port, path, [host], method)
                assert status == 421, (host, path, method)
                if method == "GET":
                    assert kind.startswith("text/plain")
                    assert str(ds) not in body and ds.name not in body and "Videos" not in body


def test_a_missing_or_doubled_host_is_a_bad_request(server: BrowseServer) -> None:
    port = server.server_address[1]
    assert request(port, "/", [])[0] == 400
    assert request(port, "/", [f"127.0.0.1:{port}", "evil.example"])[0] == 400


@pytest.mark.parametrize("path", LISTS)
def test_odd_page_numbers_are_clamped(server: BrowseServer, path: str, caplog: pytest.LogCaptureFixture) -> None:
    port = server.server_address[1]
    host = [f"127.0.0.1:{port}"]
    with caplog.at_level(logging.DEBUG):
        for value in ODD_PAGES:
            status, _, body = request(port, f"{path}?page={value}", host)
            assert status == 200, (path, value, body[:300])
            if path != "/rejects":  # three videos and three samples; one reject
                assert "rows 1–3 of 3" in body and "page 1 of 1" in body, (path, value)
            else:
                assert "rows 1–1 of 1" in body, value
        status, _, body = request(port, f"{path}?page=99999999999999999999&split=train&status=ok&stage=probe", host)
        assert status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


def test_paging_past_the_end_shows_the_last_page(server: BrowseServer) -> None:
    # The clamp keeps real paging: page 2 of a one-page list shows page 1's rows, with a link back to nowhere.
    port = server.server_address[1]
    _, _, body = request(port, "/samples?page=2", [f"127.0.0.1:{port}"])
    assert "page 1 of 1" in body and 'rel="prev"' not in body and 'rel="next"' not in body
    assert len(re.findall(r'href="/sample/', body)) == 3


def test_the_browse_command_refuses_forged_hosts_and_logs_no_traceback(ds: Path) -> None:
    proc = subprocess.Popen(
        [str(VIDCOT), "browse", str(ds), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # A shell without job control starts background jobs with SIGINT ignored, and Python then never raises
        # KeyboardInterrupt: give the server the default disposition so Ctrl-C reaches it wherever the suite runs.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    try:
        first = proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert found, first
        port = int(found.group(1))
        assert request(port, "/", ["attacker.example"])[0] == 421
        assert request(port, "/", [f"localhost:{port}"])[0] == 200
        for path in LISTS:
            assert request(port, f"{path}?page=99999999999999999999", [f"127.0.0.1:{port}"])[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        proc.wait(60)
    assert proc.returncode == 0
    assert "Traceback" not in rest and "ERROR" not in rest, rest
