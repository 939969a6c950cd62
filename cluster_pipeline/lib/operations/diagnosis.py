"""A failure in one line a person on night duty can act on: what failed (the step and the year),
why (in the words of the fault, not of the library that met it), what is published now, and
what to do; the full traceback goes to a log file whose path the line gives.

The faults around the files are told apart from bad input by the exit code (FAULT, INTERRUPTED
against BAD_INPUT): a fault is worth a rerun once it is mended, bad input is not."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BAD_INPUT = 1  # a year failed on its data (a blocking check, a missing landing folder): mend the files
FAULT = 3  # a fault around the files: the warehouse, the disk, the output folder
INTERRUPTED = 130  # stopped by the user (128 + SIGINT, as shells report it)

PUBLISHED_UNCHANGED = "the previous figures stay published, unchanged"


@dataclass(frozen=True)
class Diagnosis:
    why: str
    to_do: str
    exit_code: int = FAULT


def _locked(found: re.Match, output: Path) -> Diagnosis:
    return Diagnosis(
        "the SQLite warehouse is locked by another program (a DB browser or a BI tool's refresh) for longer than "
        "the run waits (warehouse_busy_seconds in the thresholds seed)",
        "close the program that holds the warehouse, then run again",
    )


def _refused(found: re.Match, output: Path) -> Diagnosis:
    where = f"{found['host']}:{found['port']}" if found["host"] else "the warehouse's address"
    return Diagnosis(
        f"PostgreSQL at {where} refuses connections or does not answer",
        "start PostgreSQL or correct CLUSTER_PIPELINE_WAREHOUSE_URL, then run again",
    )


def _disk_full(found: re.Match, output: Path) -> Diagnosis:
    free = _free_mb(output)
    needed = _size_mb(output / "site")
    return Diagnosis(
        f"the output disk is full ({free:,} MB free at {output})",
        f"free at least {max(needed, 1) + 100:,} MB (a rerun writes a second copy of the site, {needed:,} MB, "
        "before it replaces the first), then run again",
    )


def _read_only(found: re.Match, output: Path) -> Diagnosis:
    return Diagnosis(
        f"the output folder {output} is read-only or not ours to write",
        "make it writable for the user the pipeline runs as (or point CLUSTER_PIPELINE_OUTPUT_DIR elsewhere), "
        "then run again",
    )


def _no_landing(found: re.Match, output: Path) -> Diagnosis:
    return Diagnosis(
        "the year has no landing folder with files",
        "put the year's files in its landing folder, or run the years that have one",
        BAD_INPUT,
    )


def _blocking_check(found: re.Match, output: Path) -> Diagnosis:
    return Diagnosis(
        "a blocking check failed on the data",
        "read the check in the output above (or the UI); mend the files it names and run again",
        BAD_INPUT,
    )


# the first that matches an error's text decides: (pattern, diagnosis)
RULES: list[tuple[re.Pattern, Callable[[re.Match, Path], Diagnosis]]] = [
    # Ctrl-C inside a step reaches the run as Dagster's interruption of that step
    (re.compile(r"DagsterExecutionInterruptedError|KeyboardInterrupt"), lambda found, output: interrupted()),
    (re.compile(r"database is (locked|busy)", re.I), _locked),
    (
        re.compile(
            r"(?:connection to server at \"(?P<host>[^\"]+)\"(?: \([^)]*\))?, port (?P<port>\d+) failed)"
            r"|(?:could not connect to server)|(?:Connection refused)|(?:timeout expired)",
            re.I,
        ),
        _refused,
    ),
    (re.compile(r"No space left on device|\[Errno 28\]|ENOSPC|database or disk is full", re.I), _disk_full),
    (re.compile(r"Read-only file system|\[Errno 30\]|\[Errno 13\] Permission denied", re.I), _read_only),
    (re.compile(r"no landing folder", re.I), _no_landing),
    (re.compile(r"blocking asset check", re.I), _blocking_check),
]


def diagnose(error: str, output: Path) -> Diagnosis:
    """The fault an error's text shows (the root cause's message, or a whole traceback)."""
    for pattern, rule in RULES:
        if found := pattern.search(error):
            return rule(found, output)
    first = next((line.strip() for line in error.strip().splitlines() if line.strip()), "no message")
    return Diagnosis(f"an unexpected error: {first[:300]}", "read the traceback in the log; report it if it repeats")


def interrupted() -> Diagnosis:
    return Diagnosis("interrupted by the user", "run again when ready", INTERRUPTED)


def one_line(what: str, diagnosis: Diagnosis, log: Path | None) -> str:
    """failed: <what>: <why>; <what is published>; to do: <what to do> (traceback: <log>)."""
    where = f" (full traceback: {log})" if log else ""
    return f"failed: {what}: {diagnosis.why}; {PUBLISHED_UNCHANGED}; to do: {diagnosis.to_do}{where}"


def write_log(text: str, folder: Path) -> Path:
    """The full text of the failure in a log file of its own, in `folder` or, where that cannot be
    written (the disk that is full, the folder that is read-only), in the system's temporary folder."""
    name = f"cluster-pipeline-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
    for place in (folder, Path(tempfile.gettempdir())):
        try:
            place.mkdir(parents=True, exist_ok=True)
            path = place / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    raise OSError(f"no folder to write the failure's log in ({folder}, {tempfile.gettempdir()})")


def _free_mb(path: Path) -> int:
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    return shutil.disk_usage(existing).free // 2**20


def _size_mb(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) // 2**20
