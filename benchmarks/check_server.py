"""The pre-submission check page under load and under attack, against its floor.

    .venv/bin/python benchmarks/check_server.py        # -> benchmarks/results/check_server.md

Starts `cluster-pipeline check-server` on a free local port and measures, in one run:
- the floor: the same 20 small batches (a profile and a members file each, with 0-19 bad
  rows) checked one after another in this process with `check_submission`, no server;
- the 20 batches uploaded at once from 20 threads (wall time, every answer compared with
  the floor's);
- three zip bombs (declared 400 MB; headers lying about the size; lying headers with a
  forged CRC): time to the refusal and the server's RSS before and after.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cluster_pipeline.lib.contracts.pre_submission import batch_files, check_submission  # noqa: E402
from cluster_pipeline_tests.files import cluster_batch, write_lying_zip_bomb, write_zip_bomb  # noqa: E402
from cluster_pipeline_tests.processes import free_port, rss_mb  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "check_server.md"


def post(url: str, files: list[Path]) -> requests.Response:
    return requests.post(
        f"{url}/check?format=json", timeout=300, files=[("files", (f.name, f.read_bytes())) for f in files]
    )


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        batches = [cluster_batch(tmp / f"cluster_{i}", bad_rows=i) for i in range(20)]
        check_submission(batch_files(batches[0]))  # GX imported before timing the floor
        started = time.perf_counter()
        expected = [json.loads(check_submission(batch_files(files)).as_json()) for files in batches]
        floor = time.perf_counter() - started
        rows.append(("floor: 20 batches checked in process, one after another", f"{floor:.2f} s", "1.0x", ""))

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "cluster_pipeline.cli", "check-server", "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    requests.get(url, timeout=2)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            post(url, batches[0])  # the server's imports done before measuring

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=20) as pool:
                answers = list(pool.map(lambda files: post(url, files), batches))
            seconds = time.perf_counter() - started
            correct = sum(a.status_code == 200 and a.json() == e for a, e in zip(answers, expected))
            rows.append(
                (
                    "20 batches uploaded at once (20 threads)",
                    f"{seconds:.2f} s",
                    f"{seconds / floor:.1f}x",
                    f"{correct} of 20 answers equal the floor's",
                )
            )

            bombs = {
                "zip bomb, declared 400 MB": write_zip_bomb(tmp / "declared.xlsx", megabytes=400),
                "zip bomb, headers lying (600 MB declared as 100 kB)": write_lying_zip_bomb(tmp / "lying.xlsx", 600),
                "zip bomb, lying headers and forged CRC": write_lying_zip_bomb(
                    tmp / "forged.xlsx", 600, matching_crc=True
                ),
            }
            for what, bomb in bombs.items():
                before = rss_mb(server.pid)
                started = time.perf_counter()
                (answer,) = post(url, [bomb]).json()
                seconds = time.perf_counter() - started
                rows.append(
                    (
                        f"{what} ({bomb.stat().st_size / 1e6:.1f} MB upload)",
                        f"{seconds:.3f} s",
                        "",
                        f"{answer['status']}; RSS {before:.0f} -> {rss_mb(server.pid):.0f} MB",
                    )
                )
        finally:
            server.terminate()
            server.wait(timeout=20)

    lines = [
        "# The check page under load and under attack",
        "",
        f"`.venv/bin/python benchmarks/check_server.py`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. x = wall time over the floor of this run.",
        "",
        "| what | wall | x floor | result |",
        "|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
