"""From a year's landing folder to text cells per input kind, with a record per file.

Recognises what each CSV file or sheet is from its header, maps English or Danish
headers to contract columns, drops unknown columns (they may hold personal data),
rejects files that cannot be used, and applies the template's supersession rule (supersession.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib.ingest import spellings
from cluster_pipeline.lib.ingest.landing import (
    UNREADABLE_SUBMISSIONS,
    WORKBOOK_FORMATS,
    FileRejected,
    LandingFile,
    Table,
    discover,
    read_tables,
    with_archives_unpacked,
)
from cluster_pipeline.lib.ingest.supersession import cluster_ids, supersede
from cluster_pipeline.lib.survey.changes import layout_advice
from cluster_pipeline.lib.survey.model import INVISIBLE, Contract, canonical_token
from cluster_pipeline.lib.survey.template import Template

LINEAGE = ["source_file", "source_sheet", "source_row"]
READ_ERROR = "_read_error"
TEMPLATE_VERSION = "template_version"  # the version whose contract validates the row
OTHER_VERSION = "the file follows template version"  # how a file set aside for its layout's version is told


@dataclass(eq=False)  # compared by identity: supersession asks "is this part kept?"
class Part:
    """A recognised table (CSV file or sheet): its cells under every column any version of its
    kind knows, until the version it follows is chosen for the year."""

    file: LandingFile
    kind: str
    cells: pd.DataFrame
    mapping: list[HeaderMapping]
    present: frozenset[str]  # the columns its header names
    sheet: str | None = None
    encoding: str = "utf-8"


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
    conflict: bool = False  # rows of a cluster given by another file too, and not a version of it: quarantined
    rows_read: int = 0
    template_version: int | None = None  # of the layout it was validated by; None when not read


@dataclass
class Intake:
    files: list[FileRecord]
    cells: dict[str, pd.DataFrame]  # kind -> text cells of ingested parts, with their template version


HEADER_SEARCH_ROWS = 10  # a title and a blank row or two may stand above the header


def _known_headers(cells: list[str], template: Template) -> int:
    return len({canonical_token(c) for c in cells if c and c.strip()} & template.known_headers)


def find_header(table: Table, template: Template) -> Table:
    """The table with its header on the row, among the first ones, that names the most
    contract columns (people put titles above tables); rows above it are not data."""
    best, best_score = None, _known_headers(table.header, template)
    for position, cells in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        score = _known_headers(cells, template)
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
        notes=table.notes,
        encoding=table.encoding,
    )
    rebased.problems = {n: p for n, p in table.problems.items() if n > number}
    return rebased


def recognise_kind(table: Table, template: Template) -> str | None:
    """The kind whose own columns (not shared with the other kinds, in any version) the header names most."""
    headers = {canonical_token(h) for h in table.header if h}
    maps = {kind: set(template.header_map(kind)) for kind in template.kinds}
    own = {
        kind: len(headers & (known - set().union(*(m for k, m in maps.items() if k != kind))))
        for kind, known in maps.items()
    }
    best = max(own, key=lambda kind: own[kind])
    if own[best] > 0:
        return best
    sheet = canonical_token(table.source_sheet or "")
    return next((kind for kind in template.kinds for c in template.versions(kind) if sheet in c.sheet_names), None)


def table_cells(table: Table, contract: Contract) -> tuple[pd.DataFrame, list[HeaderMapping]]:
    """Text cells of one contract's columns (see `read_columns`); raises FileRejected when a
    required column is missing or there are no data rows."""
    cells, mapping, present = read_columns(table, contract.header_map, [c.name for c in contract.columns])
    require_columns(contract, present)
    require_rows(table)
    return cells, mapping


def require_columns(contract: Contract, present: frozenset[str]) -> None:
    missing = [c for c in contract.required_columns if c not in present]
    if missing:
        raise FileRejected(f"missing required column(s): {', '.join(missing)}")


NO_DATA_ROWS = "holds no data rows (header only)"


def require_rows(table: Table) -> None:
    if not table.rows:
        raise FileRejected(NO_DATA_ROWS)


def header_positions(
    header: list[str], header_map: dict[str, str], sheet: str | None = None
) -> tuple[dict[str, int], list[HeaderMapping]]:
    """(contract column -> its position in the header, how each header cell was mapped). Raises
    FileRejected when two headers name one column."""
    positions: dict[str, int] = {}
    mapping = []
    for index, name in enumerate(header):
        column = header_map.get(canonical_token(name))
        if name:
            mapping.append(HeaderMapping(sheet, name, column))
        if column is None:
            continue
        if column in positions:
            raise FileRejected(f"two columns map to {column}: {header[positions[column]]!r} and {name!r}")
        positions[column] = index
    return positions, mapping


def read_columns(
    table: Table, header_map: dict[str, str], columns: list[str]
) -> tuple[pd.DataFrame, list[HeaderMapping], frozenset[str]]:
    """Text cells of the columns (missing ones as blanks), lineage, how each header was mapped
    (unknown columns are dropped) and which columns the header names. Raises FileRejected
    when two headers name one column."""
    positions, mapping = header_positions(table.header, header_map, table.source_sheet)
    width = len(table.header)
    # the rows transposed once, short rows padded with blanks (in C: no pass per cell in Python)
    by_position = list(zip_longest(*table.rows, fillvalue=""))
    by_position += [("",) * len(table.rows)] * (width - len(by_position))  # no row reaches the last columns
    data = {}
    invisible = 0
    for column in columns:
        if column in positions:
            raw: tuple[str, ...] | list[str] = by_position[positions[column]]
            found = len(INVISIBLE.findall("\x1f".join(raw)))  # one pass over the column, not one per cell
            if found:
                invisible += found
                raw = [INVISIBLE.sub("", cell) for cell in raw]
            values = [cell.strip() or None for cell in raw]
        else:
            values = [None] * len(table.rows)
        data[column] = pd.Series(values, dtype="object")
    if invisible:
        where = f"sheet {table.source_sheet!r}: " if table.source_sheet else ""
        table.notes.append(
            f"{where}{invisible:,} invisible character(s) (zero-width space, joiner, soft hyphen or byte-order "
            "mark, as pasted from a web page) removed from cells"
        )
    frame = pd.DataFrame(data)
    frame["source_file"] = table.source_file
    frame["source_sheet"] = table.source_sheet
    frame["source_row"] = table.row_numbers
    # A row with more cells than the header (an unquoted delimiter in a name) is misaligned.
    frame[READ_ERROR] = [
        "; ".join(
            (
                [
                    f"row.shape: row has {len(row)} cells but the header has {width}: an unquoted delimiter "
                    "inside a value? (put the value in quotes, or save the file with another delimiter)"
                ]
                if len(row) > width and any(c.strip() for c in row[width:])
                else []
            )
            + table.problems.get(number, [])
        )
        or None
        for row, number in zip(table.rows, table.row_numbers)
    ]
    return frame, mapping, frozenset(positions)


def empty_cells(template: Template, kind: str) -> pd.DataFrame:
    columns = template.column_names(kind) + LINEAGE + [READ_ERROR]
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    frame[TEMPLATE_VERSION] = pd.Series(dtype="int64")
    return frame


def _read_parts(record: FileRecord, template: Template) -> list[Part]:
    tables = [find_header(table, template) for table in read_tables(record.file)]
    # should the file be set aside, these are the rows it held (the quarantine rate counts them)
    record.rows_read = sum(len(table.rows) for table in tables)
    parts, problems = [], []
    try:
        for table in tables:
            kind = recognise_kind(table, template)
            if kind is None:
                # a workbook may carry an instructions sheet; a CSV must be one of the kinds
                if table.source_sheet is None:
                    raise FileRejected("header not recognised as a members or profile file")
                continue
            where = f"sheet {table.source_sheet!r}: " if table.source_sheet else ""
            try:
                cells, mapping, present = read_columns(table, template.header_map(kind), template.column_names(kind))
            except FileRejected as exc:
                problems.append(f"{where}{exc}")
                continue
            if table.header_row != 1:
                record.header_found.append(f"{where}header on row {table.header_row}")
            parts.append(Part(record.file, kind, cells, mapping, present, table.source_sheet, encoding=table.encoding))
    finally:  # reading's notes and read_columns', also for a file set aside
        record.reasons += [note for table in tables for note in table.notes]
    if problems:
        # the file is the submission unit: a workbook with a broken sheet is quarantined whole
        raise FileRejected("; ".join(problems))
    if not parts:
        raise FileRejected("no members or profile sheet found")
    _note_other_clusters(record, parts, template)
    return parts


def _note_other_clusters(record: FileRecord, parts: list[Part], template: Template) -> None:
    """A workbook whose members rows name a cluster its profile does not: each row counts for the
    cluster it names, and the file says so (a copy-paste slip, or another cluster's list). A
    malformed id has its own reason already."""
    pattern = template.versions("members")[-1].column("cluster_id").pattern

    def ids(kind):
        found = {c for p in parts if p.kind == kind for c in cluster_ids(p.cells).dropna()}
        return {c for c in found if re.fullmatch(pattern, c)}

    profiles, members = ids("profile"), ids("members")
    if profiles and members - profiles:
        record.reasons.append(
            f"members rows name {', '.join(sorted(members - profiles))}, which the profile of this file "
            f"({', '.join(sorted(profiles))}) does not: each row counts for the cluster it names"
        )


def choose_contract(part: Part, template: Template, year: int) -> tuple[Contract, str | None]:
    """The contract version the part's header follows among those accepted in the year (the
    current one first), and a warning when it is an older layout in its transition year.
    Raises FileRejected naming the version when the header follows no accepted version."""
    accepted = template.accepted(part.kind, year)
    for contract in accepted:
        if all(c in part.present for c in contract.required_columns):
            if contract is accepted[0]:
                return contract, None
            current = accepted[0]
            return contract, (
                f"{part.kind} in the layout of template version {contract.template_version}: accepted in "
                f"{year}, a transition year, but from {(contract.transition_until or year) + 1} only version "
                f"{current.template_version} is: {layout_advice(contract, current)}"
            )
    current = accepted[0]
    missing = ", ".join(c for c in current.required_columns if c not in part.present)
    follows = [
        c
        for c in template.versions(part.kind)
        if c not in accepted and all(col in part.present for col in c.required_columns)
    ]
    if not follows:
        unread = [m.header for m in part.mapping if m.column is None and not m.header.isascii()]
        hint = (
            f" (read as Windows-1252, headers {', '.join(map(repr, unread))} were not recognised: "
            "if the file is UTF-8, save it as CSV UTF-8 and send it again)"
            if part.encoding == "cp1252" and unread
            else ""
        )
        raise FileRejected(f"missing required column(s): {missing}{hint}")
    other = follows[-1]
    when = (
        f"in force from {other.years_from}"
        if other.template_version > current.template_version
        else f"not accepted after {other.transition_until or (current.years_from or year) - 1}"
    )
    raise FileRejected(
        f"missing required column(s): {missing}: {OTHER_VERSION} {other.template_version} "
        f"({when}); {year} is validated by version {current.template_version}: {layout_advice(other, current)}"
    )


def _apply_layout(part: Part, record: FileRecord, template: Template, year: int) -> None:
    """Choose the part's contract, drop the columns it does not have (a later version's column
    in an earlier year is unknown: ignored and reported) and record how each header was read."""
    contract, warning = choose_contract(part, template, year)
    if part.cells.empty:
        raise FileRejected(NO_DATA_ROWS)
    record.reasons += spellings.ids_in_any_case(part.cells, contract)
    record.reasons += spellings.excel_date_serials(part.cells, contract)
    own = {c.name for c in contract.columns}
    for column in part.present - own:
        part.cells[column] = None
    part.cells[TEMPLATE_VERSION] = contract.template_version
    mapping = [m if m.column in own else HeaderMapping(m.sheet, m.header, None) for m in part.mapping]
    record.header_mapping += mapping
    record.ignored_columns += [m.header for m in mapping if m.column is None]
    if warning:
        record.reasons.append(warning)
    # a workbook follows the version of its members sheet (the profile did not change)
    version = template.template_version_of(contract, year)
    record.template_version = min(version, record.template_version or version)


def intake_year(year_dir: Path, template: Template, year: int) -> Intake:
    if not year_dir.is_dir():
        raise FileNotFoundError(f"no landing folder for this year: {year_dir}")
    return intake_files(discover(year_dir), template, year)


def intake_files(files: list[LandingFile], template: Template, year: int) -> Intake:
    """A batch of submission files (a year's landing folder, or the files a cluster checks
    before sending them) as validated in `year`; their names must be distinct."""
    records, parts = read_files(files, template)
    return intake_parts(records, parts, template, year)


def read_files(files: list[LandingFile], template: Template) -> tuple[dict[str, FileRecord], list[Part]]:
    """Every file read (an archive's files too) and its tables recognised, before any year's version is chosen."""
    records: dict[str, FileRecord] = {}
    parts: list[Part] = []
    for file in with_archives_unpacked(files):
        record = records[file.name] = FileRecord(file)
        if file.unreadable is not None:
            record.status = "quarantined"
            record.reasons.append(f"cannot be opened ({file.unreadable}): check its permissions on the share")
            continue
        if file.not_followed is not None:
            record.status = "ignored"
            record.reasons.append(f"a symbolic link (to {file.not_followed}): not followed; send the file itself")
            continue
        if file.is_archive:
            _archive_record(record)
            continue
        if file.suffix in UNREADABLE_SUBMISSIONS and not file.is_temporary:
            record.status = "quarantined"
            record.reasons.append(f"looks like a submission but is {UNREADABLE_SUBMISSIONS[file.suffix]}")
            continue
        if not file.is_submission:
            record.status = "ignored"
            record.reasons.append(
                f"not a submission ({file.suffix or 'no extension'}): only CSV and workbooks "
                f"({', '.join(sorted(WORKBOOK_FORMATS))}) are read"
            )
            continue
        try:
            file_parts = _read_parts(record, template)
        except FileRejected as exc:
            record.status = "quarantined"
            record.reasons.append(str(exc))
            continue
        # a CSV file is one table of one kind; a workbook holds both
        record.kind = "workbook" if file.is_workbook else file_parts[0].kind
        parts += file_parts
    return records, parts


def _archive_record(record: FileRecord) -> None:
    """An archive is not a submission of its own: its files are (read as <archive>/<name inside>)."""
    file = record.file
    if file.unpacked_from is not None:
        record.status = "quarantined"
        record.reasons.append(
            f"an archive inside the archive {file.unpacked_from}: not unpacked; send the files in it (Excel or CSV) "
            "one by one, or in one .zip"
        )
    elif file.archive_problem is not None:
        record.status = "quarantined"
        record.reasons.append(f"a compressed submission that cannot be read: {file.archive_problem}")
    else:
        record.status = "ignored"
        record.reasons.append("an archive: the files in it are read, each listed as <archive>/<its name>")


def _set_aside(record: FileRecord, reason: str) -> None:
    # its kind stays what its header said (a members file in an old layout is a members file)
    record.status, record.template_version = "quarantined", None
    record.reasons.append(reason)


def intake_parts(records: dict[str, FileRecord], parts: list[Part], template: Template, year: int) -> Intake:
    """The parts validated in `year`: each file's layout chosen (a file with a part that follows
    no accepted version is set aside whole), then the template's supersession rule."""
    usable = []
    for name in dict.fromkeys(p.file.name for p in parts):
        own = [p for p in parts if p.file.name == name]
        record = records[name]
        problems = []
        for part in own:
            try:
                _apply_layout(part, record, template, year)
            except FileRejected as exc:
                problems.append(f"sheet {part.sheet!r}: {exc}" if part.sheet else str(exc))
        if problems:
            # the file is the submission unit: a workbook with a broken sheet is quarantined whole
            _set_aside(record, "; ".join(problems))
            continue
        record.rows_read = 0  # counted below from the parts it passes on
        usable += own

    dropped = supersede(usable, records, READ_ERROR)
    for name in dict.fromkeys(p.file.name for p in usable):
        own = [p for p in usable if p.file.name == name]
        record = records[name]
        if all(dropped[id(p)].all() for p in own):
            record.status = "superseded"  # it answers for all it held: a later version replaced it
            record.rows_read = sum(len(p.cells) for p in own)
        else:  # an ingested file answers for the rows it passes on
            record.rows_read = sum(int((~dropped[id(p)]).sum()) for p in own)
    kept = [replace(p, cells=p.cells[~dropped[id(p)]]) for p in usable if records[p.file.name].status != "superseded"]
    cells = {
        kind: pd.concat([empty_cells(template, kind)] + [p.cells for p in kept if p.kind == kind], ignore_index=True)
        for kind in template.kinds
    }
    return Intake(list(records.values()), cells)
