"""From a year's landing folder to text cells per input kind, with a record per file.

Recognises what each CSV file or sheet is from its header, maps English or Danish
headers to contract columns, drops unknown columns (they may hold personal data),
rejects files that cannot be used, and applies the template's supersession rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib.contracts.model import Contract, canonical_token
from cluster_pipeline.lib.ingest.landing import FileRejected, LandingFile, Table, discover, read_tables

LINEAGE = ["source_file", "source_sheet", "source_row"]
READ_ERROR = "_read_error"


@dataclass(eq=False)  # compared by identity: supersession asks "is this part kept?"
class Part:
    """A recognised table (CSV file or sheet) ready for validation."""

    file: LandingFile
    kind: str
    cells: pd.DataFrame
    cluster_id: str | None


@dataclass(frozen=True)
class HeaderMapping:
    """How one header cell was read: the contract column it fills (None: ignored)."""

    sheet: str | None
    header: str
    column: str | None


@dataclass
class FileRecord:
    file: LandingFile
    kind: str = "other"
    status: str = "ingested"
    reasons: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    header_mapping: list[HeaderMapping] = field(default_factory=list)
    header_found: list[str] = field(default_factory=list)  # where a header below row 1 was found
    tie: bool = False  # superseded by a file with the same modification time
    rows_read: int = 0


@dataclass
class Intake:
    files: list[FileRecord]
    cells: dict[str, pd.DataFrame]  # kind -> text cells of ingested parts


HEADER_SEARCH_ROWS = 10  # a title and a blank row or two may stand above the header


def _known_headers(cells: list[str], contracts: dict[str, Contract]) -> int:
    known = {h for c in contracts.values() for h in c.header_map}
    return len({canonical_token(c) for c in cells if c and c.strip()} & known)


def find_header(table: Table, contracts: dict[str, Contract]) -> Table:
    """The table with its header on the row, among the first ones, that names the most
    contract columns (people put titles above tables); rows above it are not data."""
    best, best_score = None, _known_headers(table.header, contracts)
    for position, cells in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        score = _known_headers(cells, contracts)
        if score > best_score:
            best, best_score = position, score
    if best is None:
        return table
    number = table.row_numbers[best]
    rebased = Table(
        table.source_file,
        table.source_sheet,
        [c.strip() for c in table.rows[best]],
        table.rows[best + 1 :],
        table.row_numbers[best + 1 :],
        header_row=number,
    )
    rebased.problems = {n: p for n, p in table.problems.items() if n > number}
    return rebased


def recognise_kind(table: Table, contracts: dict[str, Contract]) -> str | None:
    """The kind whose own columns (not shared with the other kinds) the header names most."""
    headers = {canonical_token(h) for h in table.header if h}
    own = {}
    for kind, contract in contracts.items():
        others = {h for k, c in contracts.items() if k != kind for h in c.header_map}
        own[kind] = len(headers & (set(contract.header_map) - others))
    best = max(own, key=own.get)
    if own[best] > 0:
        return best
    sheet = canonical_token(table.source_sheet or "")
    return next((kind for kind, c in contracts.items() if sheet in c.sheet_names), None)


def table_cells(table: Table, contract: Contract) -> tuple[pd.DataFrame, list[HeaderMapping]]:
    """Text cells of the contract's columns (missing optional columns as blanks), lineage, and
    how each header was mapped (unknown columns are dropped). Raises FileRejected for an
    unusable header."""
    header_map = contract.header_map
    positions: dict[str, int] = {}
    mapping = []
    for index, header in enumerate(table.header):
        column = header_map.get(canonical_token(header))
        if header:
            mapping.append(HeaderMapping(table.source_sheet, header, column))
        if column is None:
            continue
        if column in positions:
            raise FileRejected(f"two columns map to {column}: {table.header[positions[column]]!r} and {header!r}")
        positions[column] = index
    missing = [c for c in contract.required_columns if c not in positions]
    if missing:
        raise FileRejected(f"missing required column(s): {', '.join(missing)}")
    if not table.rows:
        raise FileRejected("holds no data rows (header only)")

    width = len(table.header)
    # the rows transposed once, short rows padded with blanks (in C: no pass per cell in Python)
    by_position = list(zip_longest(*table.rows, fillvalue=""))
    by_position += [("",) * len(table.rows)] * (width - len(by_position))  # no row reaches the last columns
    data = {}
    for column in contract.columns:
        if column.name in positions:
            values = [cell.strip() or None for cell in by_position[positions[column.name]]]
        else:
            values = [None] * len(table.rows)
        data[column.name] = pd.Series(values, dtype="object")
    frame = pd.DataFrame(data)
    frame["source_file"] = table.source_file
    frame["source_sheet"] = table.source_sheet
    frame["source_row"] = table.row_numbers
    # A row with more cells than the header (an unquoted delimiter in a name) is misaligned.
    frame[READ_ERROR] = [
        "; ".join(
            (
                [f"row.shape: row has {len(row)} cells but the header has {width}"]
                if len(row) > width and any(c.strip() for c in row[width:])
                else []
            )
            + table.problems.get(number, [])
        )
        or None
        for row, number in zip(table.rows, table.row_numbers)
    ]
    return frame, mapping


def empty_cells(contract: Contract) -> pd.DataFrame:
    columns = [c.name for c in contract.columns] + LINEAGE + [READ_ERROR]
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _cluster_of(cells: pd.DataFrame) -> str | None:
    ids = cells["cluster_id"].dropna().str.strip().str.upper()
    return ids.mode().iloc[0] if not ids.empty else None


def _read_parts(record: FileRecord, contracts: dict[str, Contract]) -> list[Part]:
    tables = [find_header(table, contracts) for table in read_tables(record.file)]
    # should the file be set aside, these are the rows it held (the quarantine rate counts them)
    record.rows_read = sum(len(table.rows) for table in tables)
    parts, problems = [], []
    for table in tables:
        kind = recognise_kind(table, contracts)
        if kind is None:
            # a workbook may carry an instructions sheet; a CSV must be one of the kinds
            if table.source_sheet is None:
                raise FileRejected("header not recognised as a members or profile file")
            continue
        where = f"sheet {table.source_sheet!r}: " if table.source_sheet else ""
        try:
            cells, mapping = table_cells(table, contracts[kind])
        except FileRejected as exc:
            problems.append(f"{where}{exc}")
            continue
        record.header_mapping += mapping
        record.ignored_columns += [m.header for m in mapping if m.column is None]
        if table.header_row != 1:
            record.header_found.append(f"{where}header on row {table.header_row}")
        parts.append(Part(record.file, kind, cells, _cluster_of(cells)))
    if problems:
        # the file is the submission unit: a workbook with a broken sheet is quarantined whole
        raise FileRejected("; ".join(problems))
    if not parts:
        raise FileRejected("no members or profile sheet found")
    return parts


def supersede(parts: list[Part], records: dict[str, FileRecord]) -> list[Part]:
    """Per cluster and kind, the part from the file modified last wins (template rule); on
    the same modification time, the name later in alphabetical order wins (a stated rule,
    named in the reason, and the tie flagged in the manifest)."""
    latest: dict[tuple, Part] = {}
    for part in parts:
        key = (part.kind, part.cluster_id)
        best = latest.get(key)
        if (
            part.cluster_id is None
            or best is None
            or (part.file.mtime, part.file.name) > (best.file.mtime, best.file.name)
        ):
            latest[key] = part
    kept = [p for p in parts if p.cluster_id is None or latest[(p.kind, p.cluster_id)] is p]
    for part in parts:
        if part in kept:
            continue
        winner = latest[(part.kind, part.cluster_id)].file
        record = records[part.file.name]
        if winner.mtime == part.file.mtime:
            record.tie = True
            why = "same modification time: the name later in alphabetical order wins"
        else:
            why = "modified later"
        record.reasons.append(f"{part.kind} of {part.cluster_id} superseded by {winner.name} ({why})")
    for name, record in records.items():
        own = [p for p in parts if p.file.name == name]
        if own and all(p not in kept for p in own):
            record.status = "superseded"
    return kept


def intake_year(year_dir: Path, contracts: dict[str, Contract]) -> Intake:
    if not year_dir.is_dir():
        raise FileNotFoundError(f"no landing folder for this year: {year_dir}")
    return intake_files(discover(year_dir), contracts)


def intake_files(files: list[LandingFile], contracts: dict[str, Contract]) -> Intake:
    """A batch of submission files (a year's landing folder, or the files a cluster checks
    before sending them); their names must be distinct."""
    records: dict[str, FileRecord] = {}
    parts: list[Part] = []
    for file in files:
        record = records[file.name] = FileRecord(file)
        if not file.is_submission:
            record.status = "ignored"
            record.reasons.append(f"not a submission ({file.suffix or 'no extension'}): only .csv and .xlsx are read")
            continue
        try:
            file_parts = _read_parts(record, contracts)
        except FileRejected as exc:
            record.status = "quarantined"
            record.reasons.append(str(exc))
            continue
        # a CSV file is one table of one kind; a workbook holds both
        record.kind = "workbook" if file.suffix == ".xlsx" else file_parts[0].kind
        record.rows_read = 0  # counted below from the parts it passes on
        parts += file_parts

    kept = supersede(parts, records)
    for part in parts:
        record = records[part.file.name]
        # an ingested file answers for the rows it passes on; a superseded one for all it held
        if part in kept or record.status == "superseded":
            record.rows_read += len(part.cells)
    cells = {
        kind: pd.concat([empty_cells(contract)] + [p.cells for p in kept if p.kind == kind], ignore_index=True)
        for kind, contract in contracts.items()
    }
    return Intake(list(records.values()), cells)
