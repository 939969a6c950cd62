"""The pre-submission check page: a real server (uvicorn, in its own process) on 127.0.0.1,
real uploads, and the page looked at in headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from cluster_pipeline.cli import main
from cluster_pipeline.lib.contracts.pre_submission import batch_files, check_submission
from cluster_pipeline_tests.browser import ARTIFACTS, CHROMIUM, needs_chromium
from cluster_pipeline_tests.files import (
    MEMBERS_HEADER,
    PROFILE_HEADER,
    cluster_batch,
    member,
    profile,
    write_csv,
    write_lying_zip_bomb,
    write_zip_bomb,
)
from cluster_pipeline_tests.processes import free_port, rss_mb

LIMIT_MB = 1


class Server:
    def __init__(self, url: str, process: subprocess.Popen, tmp: Path):
        self.url, self.process, self.tmp = url, process, tmp

    def check(self, files: list[Path], timeout: float = 60) -> requests.Response:
        return requests.post(
            f"{self.url}/check?format=json", timeout=timeout, files=[("files", (f.name, f.read_bytes())) for f in files]
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`cluster-pipeline check-server` with a 1 MB upload limit and its own temporary folder."""
    tmp = tmp_path_factory.mktemp("server_tmp")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cluster_pipeline.cli",
            "check-server",
            "--port",
            str(port),
            "--max-upload-mb",
            str(LIMIT_MB),
        ],
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the check server did not answer within 60 s")
    yield Server(url, process, tmp)
    process.terminate()
    process.wait(timeout=20)


@contextmanager
def uploaded_in_chromium(server: Server, files: list[Path]):
    """The check page after choosing the files and pressing the button, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url)
        page.set_input_files("#files", [str(f) for f in files])
        page.click("button[type=submit]")
        page.wait_for_selector("#verdict")
        yield page
        browser.close()


def _cli_json(capsys, files: list[Path]) -> list[dict]:
    main(["check", "--format", "json", *map(str, files)])
    return json.loads(capsys.readouterr().out)


@needs_chromium
def test_the_page_shows_the_problems_of_an_uploaded_file_as_check_reports_them(server, tmp_path, capsys):
    files = cluster_batch(tmp_path, bad_rows=3)
    expected = [
        (f["file"], p["sheet"] or "", str(p["row"] or ""), p["column"] or "", p["reason"])
        for f in _cli_json(capsys, files)
        for p in f["problems"]
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    with uploaded_in_chromium(server, files) as page:
        page.screenshot(path=str(ARTIFACTS / "check_page.png"), full_page=True)
        shown = page.eval_on_selector_all(
            "#problems tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )
        verdict = page.text_content("#verdict")

    assert [tuple(row) for row in shown] == expected and len(expected) == 3
    assert verdict.startswith("3 rows in 1 file would be quarantined")


@needs_chromium
def test_the_problems_can_be_sorted_by_row(server, tmp_path):
    rows = "rows => rows.map(r => Number(r.cells[2].textContent))"
    with uploaded_in_chromium(server, cluster_batch(tmp_path, bad_rows=4)) as page:
        page.click("#problems th:nth-child(3) button")
        ascending = page.eval_on_selector_all("#problems tbody tr", rows)
        page.click("#problems th:nth-child(3) button")
        descending = page.eval_on_selector_all("#problems tbody tr", rows)

    assert ascending == sorted(ascending) and descending == sorted(ascending, reverse=True) and len(ascending) == 4


def test_twenty_concurrent_uploads_each_get_their_own_correct_answer(server, tmp_path):
    batches = [cluster_batch(tmp_path / f"cluster_{i}", bad_rows=i) for i in range(20)]
    expected = [json.loads(check_submission(batch_files(files)).as_json()) for files in batches]

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda files: server.check(files, timeout=120), batches))

    assert [r.status_code for r in responses] == [200] * 20
    assert [r.json() for r in responses] == expected
    assert [sum(f["rows_quarantined"] for f in answer) for answer in expected] == list(range(20))


@pytest.mark.parametrize(
    "make_bomb,reason",
    [
        (lambda path: write_zip_bomb(path, megabytes=400), "zip bomb suspected"),
        # headers declaring 100 kB for a part that inflates to 600 MB: only inflating it tells
        (lambda path: write_lying_zip_bomb(path, megabytes=600), "Bad CRC-32"),
        # ... and the CRC of the declared bytes, so only the cut-off sheet gives it away
        (
            lambda path: write_lying_zip_bomb(path, megabytes=600, matching_crc=True),
            "cannot be read as an XLSX workbook",
        ),
    ],
    ids=["declared", "lying_headers", "lying_headers_and_crc"],
)
def test_a_zip_bomb_is_rejected_within_a_second_without_the_server_growing(server, tmp_path, make_bomb, reason):
    bomb = make_bomb(tmp_path / "medlemmer.xlsx")
    assert bomb.stat().st_size < LIMIT_MB * 1024 * 1024
    server.check(cluster_batch(tmp_path, bad_rows=0))  # everything the server imports is in memory before measuring
    before = rss_mb(server.process.pid)

    started = time.monotonic()
    response = server.check([bomb])
    elapsed = time.monotonic() - started
    grown = rss_mb(server.process.pid) - before

    (answer,) = response.json()
    assert answer["status"] == "set_aside" and reason in answer["problems"][0]["reason"]
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert grown < 200, f"the server grew by {grown:.0f} MB"


def test_an_upload_over_the_limit_is_refused_with_a_message(server, tmp_path):
    big = tmp_path / "medlemmer.csv"
    big.write_bytes(b"x" * (LIMIT_MB * 1024 * 1024 + 1))
    response = server.check([big])
    assert response.status_code == 413 and f"larger than {LIMIT_MB} MB" in response.json()["error"]


def test_an_upload_without_a_declared_size_is_cut_off_at_the_limit_while_streaming(server):
    boundary = "limitboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="medlemmer.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n"
    ).encode()
    sent = []

    def chunks():  # no Content-Length: requests sends it chunked
        yield head
        for _ in range(4 * LIMIT_MB * 16):
            sent.append(1)
            yield b"y" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    try:
        response = requests.post(
            f"{server.url}/check?format=json",
            data=chunks(),
            timeout=30,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    except requests.ConnectionError:
        pytest.fail("the server should answer 413, not drop the connection")
    assert response.status_code == 413 and "larger than" in response.json()["error"]


def test_text_from_the_files_is_escaped_in_the_page(server, tmp_path):
    profiles = write_csv(tmp_path / "profil.csv", [PROFILE_HEADER, profile()])
    members = write_csv(tmp_path / "m.csv", [MEMBERS_HEADER, member(postal="<script>alert(1)</script>")])
    response = requests.post(
        f"{server.url}/check",
        timeout=60,
        files=[
            ("files", ("profil.csv", profiles.read_bytes())),
            ("files", ("<img src=x onerror=alert(2)>.csv", members.read_bytes())),
        ],
    )

    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<img src=x" not in response.text and "&lt;img src=x onerror=alert(2)&gt;.csv" in response.text
    assert "script-src 'nonce-" in response.headers["Content-Security-Policy"]


def test_uploaded_names_are_never_used_as_paths_and_nothing_is_kept(server, tmp_path):
    profiles = write_csv(tmp_path / "profil.csv", [PROFILE_HEADER, profile()])
    response = requests.post(
        f"{server.url}/check?format=json",
        timeout=60,
        files=[("files", ("../../../escaped.csv", profiles.read_bytes()))],
    )

    assert [f["file"] for f in response.json()] == ["escaped.csv"]
    assert not list(server.tmp.parent.rglob("escaped.csv"))
    assert not list(server.tmp.iterdir()), "the server's temporary folder must be empty after the answer"


def test_a_form_without_files_gets_a_message(server):
    response = requests.post(f"{server.url}/check", timeout=30, files=[("year", (None, "2016"))])
    assert response.status_code == 400 and "No file was chosen" in response.text


@needs_chromium
def test_rows_with_the_very_same_problem_share_one_line_on_the_page(server, tmp_path):
    members = write_csv(tmp_path / "medlemmer.csv", [MEMBERS_HEADER, *(member(name=f"Firma {i}") for i in range(30))])
    with uploaded_in_chromium(server, [members]) as page:  # no profile: every row fails alike
        shown = page.eval_on_selector_all(
            "#problems tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )
    ((file, sheet, rows, column, reason),) = shown
    assert rows == "2-31 (30 rows)" and column == "cluster_id" and reason.startswith("cluster_id.foreign_key")
