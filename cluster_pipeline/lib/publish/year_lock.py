"""One writer at a time: an exclusive lock file under the output folder, per reporting year
or per shared step (the company identities span all years, so `run` holds "identities"),
so two runs (two terminals, a CLI run beside another) never interleave."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path


class YearLocked(RuntimeError):
    """Another run holds this year."""


@contextmanager
def year_lock(output: Path, year: int | str, wait: bool = True):
    path = Path(output) / "_locks" / f"{year}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise YearLocked(f"another run is writing {year} (lock {path})") from None
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
