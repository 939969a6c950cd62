"""The firm register extract (../shared/REGISTER_EXTRACT.md): one file per register year,
read by the survey's own CSV reader and validated by GX against data_contracts/register.yaml.
Every row is accepted or quarantined with every reason; the contract is confidential, so a
reason names the rule and the column, never a firm's value."""

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
from cluster_pipeline.lib.contracts.submissions import reference_data
from cluster_pipeline.lib.contracts.validation import validate_kind
from cluster_pipeline.lib.ingest.intake import table_cells
from cluster_pipeline.lib.ingest.landing import FileRejected, landing_file, read_csv, sha256_of
from cluster_pipeline.lib.project_files import contracts_dir, seeds_dir
from cluster_pipeline.lib.survey.model import load_contract

REGISTER_FILE = re.compile(r"^firms_(\d{4})\.csv$", re.IGNORECASE)
FIRM_COLUMNS = [column.name for column in load_contract("register").columns]


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


def read_register_file(path: Path, year: int) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """One register year: its manifest row, its quarantine, and its accepted firm-years."""
    contract = load_contract("register")
    file = landing_file(path, path.name)
    try:
        cells, _ = table_cells(read_csv(file), contract)
    except FileRejected as rejected:
        return (
            _manifest_row(path, file.sha256, year, "quarantined", reason=str(rejected)),
            _file_quarantine(path.name, year, str(rejected)),
            pd.DataFrame(columns=FIRM_COLUMNS),
        )
    validated = validate_kind(cells, contract, RuleInputs(year, reference_data()))
    broken = validated.quarantined
    quarantine = pd.DataFrame(
        {
            "source_file": broken["source_file"].to_numpy(),
            "source_row": broken["source_row"].astype("Int64").to_numpy(),
            "level": "row",
            "reasons": broken["reasons"].to_numpy(),
            "register_year": pd.array([year] * len(broken), dtype="Int64"),
        }
    )
    firms = validated.accepted[FIRM_COLUMNS]
    row = _manifest_row(path, file.sha256, year, "ingested", len(cells), len(firms), len(broken))
    return row, quarantine, firms


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


def _validated_file(path: Path, year: int, validated: ValidatedFiles | None):
    if validated is None:
        return read_register_file(path, year)
    key = validated.key(path, sha256_of(path))
    if (kept := validated.get(key)) is not None:
        return kept
    row, quarantine, firms = read_register_file(path, year)
    validated.put(key, row, quarantine, firms)
    return row, quarantine, firms


def read_register(folder: Path, validated: ValidatedFiles | None = None) -> RegisterExtract | None:
    """Every register file of the folder; None when there is none to read (the measurement is
    skipped). validated: what earlier runs' validation gave, reused for unchanged files."""
    rows, quarantines, firms = [], [], []
    for path in register_files(folder):
        match = REGISTER_FILE.match(path.name)
        if match is None:
            rows.append(
                _manifest_row(path, sha256_of(path), None, "ignored", reason="not a register file (firms_<year>.csv)")
            )
            continue
        row, quarantine, accepted = _validated_file(path, int(match.group(1)), validated)
        rows.append(row)
        quarantines.append(quarantine)
        firms.append(accepted)
    if validated is not None:
        validated.forget_unused()
    if not firms:
        return None
    manifest = pd.DataFrame(rows).astype({"register_year": "Int64"})  # null for a file that is not a register year
    return RegisterExtract(manifest, pd.concat(quarantines, ignore_index=True), pd.concat(firms, ignore_index=True))
