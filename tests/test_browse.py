"""`vidcot browse`: a read-only page over a dataset, driven by headless Chromium (Selenium) over a curated dataset,
plus fast checks of paging, filters, the diff marks, escaping, errors and that nothing is written.

The browser tests need Debian's `chromium` and `chromium-driver` (`make system` installs them); without them they
skip and say so. Set VIDCOT_SCREENSHOTS=DIR to keep the screenshots of the three views (docs/screenshots/ in the
README are made that way).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.records import PROV, sample_records
from flows.browse import BrowseServer
from flows.browse.diff import side_by_side
from flows.browse.filters import SampleFilters
from flows.browse.queries.samples import list_samples
from flows.cli import main
from schemas import FrameRecord, SegmentRecord, ShotRecord
from schemas.store import DatasetWriter
from schemas.store.query import connect
from tests.tiny_dataset import tiny_dataset

SCRIPT = "<script>window.pwned=1</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium is not installed (Debian packages chromium and chromium-driver; `make system`)",
)


# --- helpers -------------------------------------------------------------------------------------------------------


def small_dataset(root: Path, videos: int = 1, transcript: str = "Welcome.") -> Path:
    """A dataset of `videos` small videos (tests/tiny_dataset.py), the first with `transcript` as a spoken segment."""
    first = "0" * 64
    said = SegmentRecord(first, f"{first[:16]}-a0001", 1, 3.0, 4.5, transcript, "en", 0.9, -0.3, 0.02, PROV)
    return tiny_dataset(root, videos, extra={"segments": [said]})


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a BrowseServer on a free port; stopped after the test."""
    started: list[BrowseServer] = []

    def start(root: Path, revision: int | None = None) -> BrowseServer:
        srv = BrowseServer(root, 0, revision)
        srv.start_background()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


# --- fast checks (no browser) ---------------------------------------------------------------------------------------


def test_diff_marks_changes_and_escapes() -> None:
    left, right, changes = side_by_side("<think>a red <b>car</think>", "<think>a blue <b>car</think>")
    assert changes == 1
    assert "<del>red </del>" in left and "<ins>blue </ins>" in right
    assert "&lt;b&gt;car&lt;/think&gt;" in left and "<b>" not in left.replace("<del>", "")
    assert side_by_side("same", "same")[2] == 0


def test_filters_round_trip_through_the_url() -> None:
    f = SampleFilters.from_query({"pool": ["rl"], "split": ["test"], "verdict": ["bogus"], "page": ["3"]})
    assert (f.pool, f.split, f.verdict, f.page) == ("rl", "test", "", 3)
    assert f.query_string() == "pool=rl&split=test&page=3"
    assert f.query_string(problem_type="span") == "pool=rl&split=test&problem_type=span"  # a new filter: page 1
    assert f.where() == ("split = ? AND in_rl", ["test"])


def test_paging_and_filters_in_sql(tmp_path: Path) -> None:
    root = small_dataset(tmp_path / "ds", videos=5)
    con = connect(root)
    total, first = list_samples(con, SampleFilters(), page_size=2)
    _, third = list_samples(con, SampleFilters(page=3), page_size=2)
    assert total == 5 and len(first) == 2 and len(third) == 1
    every = [r["task_id"] for r in list_samples(con, SampleFilters(), page_size=10)[1]]
    assert [r["task_id"] for r in first + third] == every[:2] + every[4:]
    assert list_samples(con, SampleFilters(video="1" * 64))[0] == 1
    assert list_samples(con, SampleFilters(pool="none"))[0] == 0
    assert list_samples(con, SampleFilters(verdict="rejected"))[0] == 0


def test_overview_counts_without_the_card_module(tmp_path: Path) -> None:
    from flows.browse.overview_data import from_counts

    o = from_counts(connect(small_dataset(tmp_path / "ds", videos=3)))
    headline = dict(o.headline)
    assert headline["videos kept · rejected"] == "3 · 0"
    assert headline["shots"] == "6" and headline["tasks"] == "3" and headline["chains accepted"] == "3 / 3"
    assert headline["sft · rl · pairs"] == "3 · 3 · 3"
    assert ("probe", "zero_bytes", 1, "/rejects?stage=probe&reason=zero_bytes") in o.rejects
    assert ("multiple choice", 3, 3, 0) in o.problem_types and ("span", 0, 0, 3) in o.problem_types


def test_pages_answer_and_nothing_is_written(tmp_path: Path, serve: Any) -> None:
    root = small_dataset(tmp_path / "ds", videos=2, transcript="Fish & <chips>")
    before = snapshot(root)
    srv = serve(root)
    assert srv.server_address[0] == "127.0.0.1"
    for path in (
        "/",
        "/videos",
        "/samples",
        "/rejects",
        "/samples?pool=rl&split=train",
        f"/video/{'0' * 64}",
        "/sample/t1-00000000",
        "/rejects?stage=probe&reason=zero_bytes",
    ):
        status, body = get(srv.url.rstrip("/") + path)
        assert status == 200, (path, body[-500:])
    status, body = get(f"{srv.url}video/{'0' * 64}")
    assert "Fish &amp; &lt;chips&gt;" in body  # transcript text escaped
    assert "zero_bytes" in get(srv.url)[1]  # the overview lists reject reasons
    for path in ("/nothing", "/sample/nope", "/video/nope", "/frame/nope.jpg", "/card/../manifest.json"):
        assert get(srv.url.rstrip("/") + path)[0] == 404, path
    req = urllib.request.Request(srv.url, data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 501
    assert snapshot(root) == before


def test_a_dropped_chain_shows_what_the_backend_said(tmp_path: Path, serve: Any) -> None:
    records = sample_records("0" * 64)
    records["cot"][0] = dataclasses.replace(
        records["cot"][0], accepted=False, reject_reason="draft:llm_error", reject_detail="HTTP 500: <b>overloaded</b>"
    )
    with DatasetWriter(tmp_path / "ds") as w:
        for table, rows in records.items():
            w.append(table, rows)
        w.commit()
    body = get(serve(tmp_path / "ds").url + "sample/t1")[1]
    assert "draft:llm_error" in body and "HTTP 500: &lt;b&gt;overloaded&lt;/b&gt;" in body


def test_video_page_pages_its_shots(tmp_path: Path, serve: Any) -> None:
    from flows.browse.queries.videos import SHOTS_PER_PAGE

    root = small_dataset(tmp_path / "ds")
    vid, n = "0" * 64, 2 * SHOTS_PER_PAGE + 5
    with DatasetWriter(root) as w:  # a second revision with many more shots, each with a keyframe
        w.append(
            "shots",
            [ShotRecord(vid, f"{vid[:16]}-s{i + 2:04d}", i + 2, 12.0 + i, 13.0 + i, "cut", PROV) for i in range(n - 2)],
        )
        w.append(
            "frames",
            [
                FrameRecord(
                    vid,
                    f"{vid[:16]}-f{i + 1:05d}",
                    f"{vid[:16]}-s{i + 2:04d}",
                    12.5 + i,
                    64,
                    36,
                    b"\xff\xd8",
                    "0f" * 8,
                    PROV,
                )
                for i in range(n - 2)
            ],
        )
        w.commit()
    srv = serve(root)
    first, last = get(f"{srv.url}video/{vid}")[1], get(f"{srv.url}video/{vid}?page=3")[1]
    assert first.count('class="shotrow"') == SHOTS_PER_PAGE and last.count('class="shotrow"') == 5
    assert first.count('class="shot"') == n  # the timeline always shows every shot
    assert f"Shot {n} · " in last and 'rel="prev"' in last


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["browse", str(tmp_path / "missing")]) == 2
    assert "no dataset at" in capsys.readouterr().err
    root = small_dataset(tmp_path / "ds")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["browse", str(root), "--port", str(busy.getsockname()[1])]) == 2
    assert "already in use" in capsys.readouterr().err


# --- headless Chromium ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("headless Chromium is not installed (Debian packages chromium and chromium-driver; `make system`)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def curated(pipeline_dataset: tuple[Path, dict]) -> Iterator[tuple[Path, BrowseServer]]:
    root = pipeline_dataset[0]
    srv = BrowseServer(root, 0)
    srv.start_background()
    yield root, srv
    srv.shutdown()
    srv.server_close()


def screenshot(driver: Any, name: str, tmp_path: Path) -> Path:
    """Save a full-page PNG of the current page (under VIDCOT_SCREENSHOTS when set); returns its path."""
    from selenium.webdriver.support.ui import WebDriverWait

    folder = Path(os.environ.get("VIDCOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 2400)
    driver.set_window_size(1280, max(height, 600))
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    )
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def image_loaded(driver: Any, css: str) -> bool:
    return bool(
        driver.execute_script(
            "const i = document.querySelector(arguments[0]); return !!i && i.complete && i.naturalWidth > 0;", css
        )
    )


@pytest.mark.slow  # builds the pipeline dataset
@needs_chromium
def test_overview_renders(browser: Any, curated: tuple[Path, BrowseServer], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    root, srv = curated
    con = connect(root)
    browser.get(srv.url)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    cards = {
        c.find_element(By.CLASS_NAME, "k").text: c.find_element(By.CLASS_NAME, "v").text
        for c in browser.find_elements(By.CSS_SELECTOR, ".card")
    }
    kept = con.execute("SELECT count(DISTINCT video_id) FROM videos WHERE status = 'ok'").fetchone()
    assert kept is not None and cards["videos kept · rejected"].split(" · ")[0] == str(kept[0])
    assert cards["shots"] == str(con.execute("SELECT count(*) FROM shots").fetchone()[0])
    png = screenshot(browser, "overview", tmp_path)
    assert png.stat().st_size > 10_000
    # A reject reason links to examples of exactly that reason.
    stage, reason, n = con.execute(
        "SELECT stage, reason, count(*) AS n FROM rejects GROUP BY ALL ORDER BY n DESC, stage, reason LIMIT 1"
    ).fetchone()
    browser.find_element(By.CSS_SELECTOR, ".reject-reasons").find_element(By.LINK_TEXT, reason).click()
    assert f"stage={stage}" in browser.current_url and f"reason={reason}" in browser.current_url
    shown = browser.find_elements(By.CSS_SELECTOR, "table.rejects tbody tr")
    assert len(shown) == min(n, 50) and all(r.text.split()[1] == reason for r in shown)


@pytest.mark.slow  # builds the pipeline dataset
@needs_chromium
def test_sample_page_shows_both_chains_and_a_keyframe(
    browser: Any, curated: tuple[Path, BrowseServer], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    root, srv = curated
    con = connect(root)
    # The chain that refinement changed most shows the diff marks; fall back to any drafted task.
    task_id, draft, refined = con.execute(
        "SELECT task_id, draft, refined FROM cot ORDER BY (draft = coalesce(refined, draft)), "
        "abs(length(draft) - length(coalesce(refined, ''))), cot_id LIMIT 1"
    ).fetchone()
    browser.get(f"{srv.url}samples")
    browser.find_element(By.CSS_SELECTOR, f"a[href='/sample/{task_id}']").click()
    question = con.execute("SELECT question FROM tasks WHERE task_id = ?", [task_id]).fetchone()[0]
    assert browser.find_element(By.TAG_NAME, "h1").text == question
    shown_draft = browser.find_element(By.CSS_SELECTOR, ".chain.draft").text
    shown_refined = browser.find_element(By.CSS_SELECTOR, ".chain.refined").text
    assert " ".join(shown_draft.split()) == " ".join(draft.split())
    assert " ".join(shown_refined.split()) == " ".join((refined or "").split())
    if refined and refined != draft:
        assert browser.find_elements(By.CSS_SELECTOR, ".chain.refined ins, .chain.draft del")
    assert image_loaded(browser, "img.keyframe")
    assert "accuracy" in browser.find_element(By.CSS_SELECTOR, "section.cot dl").text
    screenshot(browser, "sample", tmp_path)


@pytest.mark.slow  # builds the pipeline dataset
@needs_chromium
def test_video_page_shows_timeline_transcript_and_evidence(
    browser: Any, curated: tuple[Path, BrowseServer], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    root, srv = curated
    con = connect(root)
    video_id, segments = con.execute(
        "SELECT video_id, count(*) FROM segments GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    shots = con.execute("SELECT count(*) FROM shots WHERE video_id = ?", [video_id]).fetchone()[0]
    browser.get(f"{srv.url}video/{video_id}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#timeline .shot")) == shots
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.transcript tbody tr")) == segments
    assert browser.find_elements(By.CSS_SELECTOR, ".evidence")
    assert image_loaded(browser, "img.keyframe")
    screenshot(browser, "video", tmp_path)


@pytest.mark.slow  # builds the pipeline dataset
@needs_chromium
def test_a_filter_narrows_the_list(browser: Any, curated: tuple[Path, BrowseServer]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    root, srv = curated
    con = connect(root)
    browser.get(f"{srv.url}samples")
    everything = len(browser.find_elements(By.CSS_SELECTOR, "table.samples tbody tr"))
    ptype, n = con.execute("SELECT problem_type, count(*) FROM tasks GROUP BY 1 ORDER BY 2, 1 LIMIT 1").fetchone()
    Select(browser.find_element(By.ID, "f-problem_type")).select_by_value(ptype)
    browser.find_element(By.ID, "apply").click()
    # The click loads a new page: count its rows, not the old page's (a race that failed now and then).
    WebDriverWait(browser, 30).until(
        lambda b: "problem_type=" in b.current_url and b.execute_script("return document.readyState") == "complete"
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "table.samples tbody tr")
    assert 0 < len(rows) < everything
    assert len(rows) == n and all(ptype in r.text for r in rows)
    # The address is the view: opening it again shows the same rows.
    assert re.search(r"problem_type=", browser.current_url)
    shared = browser.current_url
    browser.get(srv.url)
    browser.get(shared)
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.samples tbody tr")) == n


@needs_chromium
def test_transcript_with_script_is_shown_as_text(browser: Any, tmp_path: Path, serve: Any) -> None:
    from selenium.webdriver.common.by import By

    root = small_dataset(tmp_path / "ds", transcript=SCRIPT)
    srv = serve(root)
    browser.get(f"{srv.url}video/{'0' * 64}")
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "table.transcript .segment-text")]
    assert SCRIPT in texts
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in get(f"{srv.url}video/{'0' * 64}")[1]
