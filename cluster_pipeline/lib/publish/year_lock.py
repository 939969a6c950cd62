"""One writer at a time: an exclusive lock file under the output folder, per reporting year
or per shared step (the company identities span all years, so `run` holds "identities"),
so two runs (two terminals, a CLI run beside another) never interleave."""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path


class YearLocked(RuntimeError):
    """Another run holds this year."""


@contextmanager
def exclusive_lock(path: Path, wait: bool = True, on_wait: Callable[[], None] | None = None, refused: str = ""):
    """Hold the lock file at `path`; when another process holds it: wait (calling on_wait first),
    or raise YearLocked(refused) when wait is False."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise YearLocked(refused or f"another process holds {path}") from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def year_lock(output: Path, year: int | str, wait: bool = True, on_wait: Callable[[], None] | None = None):
    path = Path(output) / "_locks" / f"{year}.lock"
    return exclusive_lock(path, wait, on_wait, refused=f"another run is writing {year} (lock {path})")
