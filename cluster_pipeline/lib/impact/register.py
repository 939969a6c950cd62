"""The firm register extract (../shared/REGISTER_EXTRACT.md): one file per register year,
read as machine-written data (Arrow's CSV reader; the survey's forgiving reader for a file that
is not plainly machine-written) and validated by GX against data_contracts/register.yaml, the
files together in batches of up to BATCH_ROWS rows. Every row is accepted or quarantined with every reason; the contract
is confidential, so a reason names the rule and the column, never a firm's value."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path

import pandas as pd

import cluster_pipeline
from cluster_pipeline.lib.contracts.compiler import RuleInputs
from cluster_pipeline.lib.contracts.gx_adapter import warm_up
from cluster_pipeline.lib.contracts.submissions import reference_data
from cluster_pipeline.lib.contracts.validation import validate_kind
from cluster_pipeline.lib.ingest.intake import table_cells
from cluster_pipeline.lib.ingest.landing import FileRejected, landing_file, read_csv, sha256_of
from cluster_pipeline.lib.ingest.machine_written import TEXT, read_machine_written
from cluster_pipeline.lib.project_files import contracts_dir, seeds_dir
from cluster_pipeline.lib.survey.model import load_contract

REGISTER_FILE = re.compile(r"^firms_(\d{4})\.csv$", re.IGNORECASE)
FIRM_COLUMNS = [column.name for column in load_contract("register").columns]
DELIMITER = ";"  # REGISTER_EXTRACT.md: semicolon-separated, decimal comma
FILE_YEAR = "__file_year__"  # the year in a file's name, as a column: one GX batch holds several years
# Files are validated together up to this many rows: GX's fixed cost per batch is paid once for
# small files, and memory stays bounded for large ones (GX copies a rule's columns for each rule).
# At scale 10 (570,000 rows a file) one batch for nine files peaked at 6.1 GB.
BATCH_ROWS = 1_000_000


@dataclass
class RegisterExtract:
    manifest: pd.DataFrame  # register_manifest
    quarantine: pd.DataFrame  # register_quarantine
    firms: pd.DataFrame  # accepted firm-years, typed (confidential: never published)


def register_files(folder: Path) -> list[Path]:
    """Every file in the register folder, or [] when there is no folder."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _manifest_row(
    path: Path,
    sha256: str,
    year: int | None,
    status: str,
    read: int = 0,
    accepted: int = 0,
    quarantined: int = 0,
    reason: str | None = None,
) -> dict:
    return {
        "source_file": path.name,
        "sha256": sha256,
        "register_year": year,
        "status": status,
        "rows_read": read,
        "rows_accepted": accepted,
        "rows_quarantined": quarantined,
        "reason": reason,
    }


def _file_quarantine(name: str, year: int | None, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": [name],
            "source_row": pd.array([None], dtype="Int64"),
            "level": ["file"],
            "reasons": [[reason]],
            "register_year": pd.array([year], dtype="Int64"),
        }
    )


@dataclass
class RegisterFile:
    """A register year's file as read, before validation: its text cells, or why it was set aside."""

    path: Path
    year: int
    sha256: str
    cells: pd.DataFrame | None = None
    rejected: str | None = None


def _cells(path: Path, raw: bytes) -> pd.DataFrame:
    contract = load_contract("register")
    cells = read_machine_written(raw, path.name, contract, DELIMITER)
    if cells is None:  # not plainly machine-written: the forgiving reader names every odd row exactly
        cells, _ = table_cells(read_csv(landing_file(path, path.name)), contract)
        cells = cells.astype({name: TEXT for name in FIRM_COLUMNS})
    return cells


def read_register_file(path: Path, year: int) -> RegisterFile:
    """A register year's file read into text cells."""
    raw = path.read_bytes()
    return _read(path, year, raw, hashlib.sha256(raw).hexdigest())


def _read(path: Path, year: int, raw: bytes, sha256: str) -> RegisterFile:
    file = RegisterFile(path, year, sha256)
    try:
        file.cells = _cells(path, raw)
    except FileRejected as rejected:
        file.rejected = str(rejected)
    return file


Validation = tuple[dict, pd.DataFrame, pd.DataFrame]  # a file's manifest row, quarantine, accepted firm-years


def validate_register(files: list[RegisterFile]) -> dict[str, Validation]:
    """Every file's validation, by file name: the files read as one GX batch (the year rules
    compare with each row's file year), then split by file."""
    results: dict[str, Validation] = {}
    for file in files:
        if file.rejected is not None:
            results[file.path.name] = (
                _manifest_row(file.path, file.sha256, file.year, "quarantined", reason=file.rejected),
                _file_quarantine(file.path.name, file.year, file.rejected),
                pd.DataFrame(columns=FIRM_COLUMNS),
            )
    readable = [(f, f.cells) for f in files if f.cells is not None]
    if not readable:
        return results
    cells = pd.concat([c.assign(**{FILE_YEAR: float(f.year)}) for f, c in readable], ignore_index=True)
    inputs = RuleInputs(None, reference_data(), year_column=FILE_YEAR)
    validated = validate_kind(cells, load_contract("register"), inputs)
    broken = dict(tuple(validated.quarantined.groupby("source_file", sort=False)))
    accepted = dict(tuple(validated.accepted.groupby("source_file", sort=False)))
    for file, read in readable:
        name = file.path.name
        rows = broken.get(name, validated.quarantined.iloc[:0])
        firms = accepted.get(name, validated.accepted.iloc[:0])[FIRM_COLUMNS].reset_index(drop=True)
        quarantine = pd.DataFrame(
            {
                "source_file": rows["source_file"].to_numpy(),
                "source_row": rows["source_row"].astype("Int64").to_numpy(),
                "level": "row",
                "reasons": rows["reasons"].to_numpy(),
                "register_year": pd.array([file.year] * len(rows), dtype="Int64"),
            }
        )
        row = _manifest_row(file.path, file.sha256, file.year, "ingested", len(read), len(firms), len(rows))
        results[name] = (row, quarantine, firms)
    return results


@cache
def validator_fingerprint() -> str:
    """What a register file's validation depends on besides its bytes: the contracts, the
    reference data, the package's code and the GX version. Any change validates again."""
    digest = hashlib.sha256(f"{version('great-expectations')}|{version('pandas')}".encode())
    package = Path(cluster_pipeline.__file__).parent
    for folder, pattern in ((contracts_dir(), "*.yaml"), (seeds_dir(), "*.csv"), (package, "lib/**/*.py")):
        for path in sorted(folder.glob(pattern)):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class ValidatedFiles:
    """Each register file's validation (manifest row, quarantine, accepted rows), kept under
    its name, its bytes and the validator's fingerprint. The extract arrives once a year but
    every run reads it: a file validated before by this very validator is not validated
    again (seconds per file), and anything changed (a byte, a rule, the code) misses."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.used: set[str] = set()
        self.reused = 0  # files whose earlier validation served this run

    def key(self, path: Path, sha256: str) -> str:
        return hashlib.sha256(f"{path.name}|{sha256}|{validator_fingerprint()}".encode()).hexdigest()[:32]

    def get(self, key: str) -> tuple[dict, pd.DataFrame, pd.DataFrame] | None:
        entry = self.folder / key
        if not (entry / "row.json").exists():  # written last: an entry cut short is a miss
            return None
        self.used.add(key)
        self.reused += 1
        # pickled by this pipeline into its own _work folder, to come back with the very
        # dtypes validation gave them (Parquet would turn object columns into strings)
        return (
            json.loads((entry / "row.json").read_text()),
            pd.read_pickle(entry / "quarantine.pkl"),
            pd.read_pickle(entry / "firms.pkl"),
        )

    def put(self, key: str, row: dict, quarantine: pd.DataFrame, firms: pd.DataFrame) -> None:
        entry = self.folder / key
        entry.mkdir(parents=True, exist_ok=True)
        quarantine.to_pickle(entry / "quarantine.pkl")
        firms.to_pickle(entry / "firms.pkl")
        (entry / "row.json").write_text(json.dumps(row))
        self.used.add(key)

    def forget_unused(self) -> None:
        """Entries of files no longer in the folder (or validated by an older validator)."""
        for entry in self.folder.glob("*") if self.folder.is_dir() else []:
            if entry.name not in self.used:
                shutil.rmtree(entry, ignore_errors=True)


def read_register(folder: Path, validated: ValidatedFiles | None = None) -> RegisterExtract | None:
    """Every register file of the folder; None when there is none to read (the measurement is
    skipped). validated: what earlier runs' validation gave, reused for unchanged files; the
    others are validated together."""
    found: dict[str, Validation | None] = {}  # register files in the folder's order
    rows: dict[str, dict] = {}  # every file's manifest row, in the folder's order
    keys: dict[str, str] = {}
    batch: list[RegisterFile] = []
    importing = None

    def validate_batch() -> None:
        for name, result in validate_register(batch).items():
            found[name] = result
            if validated is not None:
                validated.put(keys[name], *result)
        batch.clear()

    for path in register_files(folder):
        match = REGISTER_FILE.match(path.name)
        rows[path.name] = {}
        if match is None:
            rows[path.name] = _manifest_row(
                path, sha256_of(path), None, "ignored", reason="not a register file (firms_<year>.csv)"
            )
            continue
        raw = path.read_bytes()
        sha256 = hashlib.sha256(raw).hexdigest()
        if validated is not None:
            keys[path.name] = validated.key(path, sha256)
            if (kept := validated.get(keys[path.name])) is not None:
                found[path.name] = kept
                continue
        found[path.name] = None
        if not importing:  # the first file to validate: GX's import (seconds) overlaps Arrow's reading
            importing = warm_up()
        file = _read(path, int(match.group(1)), raw, sha256)
        del raw  # only the cells stay
        if batch and sum(len(f.cells) for f in [*batch, file] if f.cells is not None) > BATCH_ROWS:
            validate_batch()
        batch.append(file)
    if batch:
        validate_batch()
    if validated is not None:
        validated.forget_unused()
    if not found:
        return None
    quarantines, firms = [], []
    for name, (row, quarantine, accepted) in found.items():  # type: ignore[misc]  # every one validated by now
        rows[name] = row
        quarantines.append(quarantine)
        firms.append(accepted)
    # register_year is null for a file that is not a register year
    manifest = pd.DataFrame(list(rows.values())).astype({"register_year": "Int64"})
    return RegisterExtract(manifest, pd.concat(quarantines, ignore_index=True), pd.concat(firms, ignore_index=True))
