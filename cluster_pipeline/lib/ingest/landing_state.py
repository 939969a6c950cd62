"""What is in the landing folder, by content: which years have submissions, and a
fingerprint of each year's files that changes when a file is added, removed or changed
(by SHA-256, so touching a file without changing it changes nothing)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cluster_pipeline.lib.ingest.landing import sha256_of, shown_name


def year_folders(landing: Path, first_year: int, last_year: int) -> dict[int, Path]:
    """Year folders (named by a year in range) that hold at least one file."""
    found: dict[int, Path] = {}
    if not landing.is_dir():
        return found
    for folder in landing.iterdir():
        in_range = folder.is_dir() and folder.name.isdigit() and first_year <= int(folder.name) <= last_year
        if in_range and any(p.is_file() for p in folder.rglob("*")):
            found[int(folder.name)] = folder
    return dict(sorted(found.items()))


def file_hashes(folder: Path, known: dict[str, list] | None = None) -> dict[str, list]:
    """{relative name: [size, mtime_ns, sha256]}; a file whose size and mtime are unchanged
    from `known` keeps its known hash (no need to read it again)."""
    known = known or {}
    state = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = shown_name(path.relative_to(folder).as_posix())  # as the manifest names it: text, always
        stat = path.stat()
        before = known.get(name)
        if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
            state[name] = before
        else:
            state[name] = [stat.st_size, stat.st_mtime_ns, _content(path)]
    return state


def _content(path: Path) -> str:
    """The file's SHA-256, or what stops it being read (a file not ours to open is the run's to report)."""
    try:
        return sha256_of(path)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def fingerprint(state: dict[str, list]) -> str:
    """Content only: names and hashes, not modification times."""
    digest = hashlib.sha256()
    for name, (_, _, sha) in sorted(state.items()):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()
