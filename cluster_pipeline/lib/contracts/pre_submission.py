"""A cluster's files checked before they are sent: the pipeline's own intake and contract
validation (Great Expectations included) over a batch of files, treated exactly as a
year's landing folder is, with nothing published.

Every verdict is read off the ingest manifest and the quarantine that a run over the same
files would publish (built by the same functions), so the check and the pipeline cannot
disagree."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib.contracts.submissions import ingest_manifest, records_frame, validate_year, year_quarantine
from cluster_pipeline.lib.contracts.validation import SCIENTIFIC_NOTATION
from cluster_pipeline.lib.ingest.intake import FileRecord, HeaderMapping, intake_parts, read_files
from cluster_pipeline.lib.ingest.landing import WORKBOOK_FORMATS, LandingFile, landing_file, shown_name
from cluster_pipeline.lib.survey import normalise
from cluster_pipeline.lib.survey.template import Template, load_template

# the manifest's status -> what the file's sender is told
STATUS = {"quarantined": "set_aside", "ignored": "ignored", "superseded": "superseded"}
# 0: every file accepted whole; 1: rows would be quarantined; 2: a file would be set aside.
# Ignored and superseded files lose no rows (a later file carries them), so they pass.
EXIT_CODES = {"accepted": 0, "ignored": 0, "superseded": 0, "rows_quarantined": 1, "set_aside": 2}
FOREIGN_KEY_RULE = "cluster_id.foreign_key"


@dataclass(frozen=True)
class Problem:
    """Why a row (or, with no row, the whole file) would be quarantined."""

    sheet: str | None
    row: int | None
    column: str | None
    reason: str


def location(sheet: str | None, row: int | str | None, column: str | None) -> str:
    """ "sheet 'Medlemmer', row 14, column cvr" (a CSV file has no sheet; a file problem no row).
    `row` may be a text naming several rows."""
    rows = row if isinstance(row, str) else f"row {row}" if row else ""
    parts = [f"sheet {sheet!r}" if sheet else "", rows, f"column {column}" if column else ""]
    return ", ".join(p for p in parts if p) or "file"


@dataclass
class FileCheck:
    file: str
    status: str  # accepted, rows_quarantined, set_aside, ignored, superseded
    kind: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headers: list[HeaderMapping] = field(default_factory=list)
    template_version: int | None = None  # the template version it was validated by (None: not read)

    @property
    def grouped_problems(self) -> list[GroupedProblem]:
        return grouped_problems(self.problems)

    def verdict(self) -> str:
        if self.status == "accepted":
            return f"would be accepted whole ({_count(self.rows_accepted, 'row')})"
        if self.status == "rows_quarantined":
            return (
                f"{self.rows_quarantined:,} of {self.rows_read:,} rows would be quarantined (left out of the "
                f"statistics): correct them and check again"
            )
        if self.status == "set_aside":
            return f"the whole file would be set aside ({_count(self.rows_read, 'row')}): {self.problems[0].reason}"
        if self.status == "superseded":
            return "would not be used: another file of this batch replaces it"
        return f"would be ignored: only CSV files and workbooks ({', '.join(sorted(WORKBOOK_FORMATS))}) are read"

    def as_json(self) -> dict:
        found = asdict(self)
        found["headers"] = [{"sheet": m.sheet, "header": m.header, "column": m.column} for m in self.headers]
        return found


@dataclass
class SubmissionCheck:
    year: int
    year_source: str  # "given", "files" or "assumed"
    files: list[FileCheck]

    @property
    def exit_code(self) -> int:
        return max((EXIT_CODES[f.status] for f in self.files), default=0)

    def as_json(self) -> str:
        return json.dumps([f.as_json() for f in self.files], ensure_ascii=False, indent=2)

    def verdict(self) -> str:
        """The batch in one sentence, worst news first."""
        set_aside = [f for f in self.files if f.status == "set_aside"]
        quarantining = [f for f in self.files if f.status == "rows_quarantined"]
        news = []
        if set_aside:
            news.append(f"{_count(len(set_aside), 'file')} would be set aside whole")
        if quarantining:
            rows = sum(f.rows_quarantined for f in quarantining)
            news.append(f"{_count(rows, 'row')} in {_count(len(quarantining), 'file')} would be quarantined")
        if news:
            return " and ".join(news) + ": correct the files and check them again before you send them."
        used = sum(f.status == "accepted" for f in self.files)
        return (
            f"{'Every' if used == len(self.files) else 'Each used'} file would be accepted whole "
            f"({_count(used, 'file')}, {_count(sum(f.rows_accepted for f in self.files), 'row')})."
        )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def batch_files(paths: list[Path]) -> list[LandingFile]:
    """The files as the check knows them: by their own name, or by the path given where two
    files share a name (a name identifies a file in every record)."""
    names = [p.name for p in paths]
    return [landing_file(p, shown_name(p.name if names.count(p.name) == 1 else str(p))) for p in paths]


def files_reporting_year(cells: list[pd.DataFrame]) -> int | None:
    """The reporting year most rows of the batch give."""
    written = pd.concat([c["reporting_year"] for c in cells], ignore_index=True)
    years = normalise.parse_number(written).dropna()
    years = years[years == years.round()]
    return int(years.mode().iloc[0]) if len(years) else None


def _column_of(reason: str, columns: set[str]) -> str | None:
    """Rule ids are "<column>.<rule>" (a stable format); read problems name no column."""
    rule = reason.split(":", 1)[0]
    column = rule.rsplit(".", 1)[0]
    return column if column in columns else None


def _sheet(value) -> str | None:
    return value if isinstance(value, str) else None  # a CSV row's sheet is missing (NaN in pandas)


def _problems(quarantine: pd.DataFrame, columns: set[str]) -> list[Problem]:
    problems = []
    for row in quarantine.itertuples():
        for reason in row.reasons:
            if row.level == "file":
                problems.append(Problem(None, None, None, reason))
            else:
                problems.append(
                    Problem(_sheet(row.source_sheet), int(row.source_row), _column_of(reason, columns), reason)
                )
    return problems


def _rows_text(rows: pd.DataFrame) -> str:
    """ "sheet 'Medlemmer' rows 4 ('1234'), 9 ('x')" for the rows' cvr_raw, per sheet."""
    sheets: dict[str | None, list[str]] = {}
    for r in rows.itertuples():
        sheets.setdefault(_sheet(r.source_sheet), []).append(f"{r.source_row} ({r.cvr_raw!r})")
    return "; ".join(
        f"{f'sheet {sheet!r} ' if sheet else ''}row{'' if len(found) == 1 else 's'} {', '.join(found)}"
        for sheet, found in sheets.items()
    )


def _warnings(record: FileRecord, status: str, members: pd.DataFrame, quarantine: pd.DataFrame) -> list[str]:
    """`members`: the file's accepted members rows."""
    invalid = members[members["cvr_status"] == "invalid"]
    separated = members[(members["cvr_status"] == "valid") & members["cvr_raw"].str.contains(",", regex=False)]
    warnings = list(record.reasons) if status != "set_aside" else []  # an ingested file's reasons are notes
    warnings += [f"{where}: the rows above it are not read" for where in record.header_found]
    warnings += [
        f"column {header!r} is not in the template: it will be ignored (never published)"
        for header in record.ignored_columns
    ]
    if len(separated):
        warnings.append(
            f"column cvr: {_count(len(separated), 'CVR number')} written with thousands separators, in "
            f"{_rows_text(separated)}: read as the 8 digits (the template writes them without separators)"
        )
    rounded = members[members["cvr_status"] == SCIENTIFIC_NOTATION]
    if len(rounded):
        warnings.append(
            f"column cvr: Excel turned the CVR column into numbers ({_count(len(rounded), 'CVR number')} shown in "
            f"scientific notation, in {_rows_text(rounded)}; their digits are lost): format the CVR column as "
            "text and send the file again"
        )
    if len(invalid):
        one = len(invalid) == 1
        cells = _rows_text(invalid)
        outcome = "the row counts, but its company is" if one else "the rows count, but their companies are"
        warnings.append(
            f"column cvr: {_count(len(invalid), 'CVR number')} {'fails' if one else 'fail'} the check "
            f"digit, in {cells}: {outcome} matched by name and address instead"
        )
    # a well-formed cluster id without a profile (a mistyped id has its own problem already)
    orphans = sorted(
        {
            json.loads(row.record).get("cluster_id", "?")
            for row in quarantine.itertuples()
            if any(r.startswith(FOREIGN_KEY_RULE) for r in row.reasons)
            and not any(r.startswith("cluster_id.pattern") for r in row.reasons)
        }
    )
    if orphans:
        warnings.append(
            f"the profile of {', '.join(orphans)} is not among the files (or was set aside): members rows count "
            f"only for a cluster whose profile is accepted the same year (rule {FOREIGN_KEY_RULE}); send the "
            "profile with the members file, and check the two together"
        )
    if record.tie:
        warnings.append(
            "two files of this batch have the same modification time: the one with more rows wins, then the "
            "name later in alphabetical order"
        )
    return warnings


def check_submission(
    files: list[LandingFile], year: int | None = None, template: Template | None = None
) -> SubmissionCheck:
    """What a run over these files (as one landing folder) would accept, quarantine and set aside."""
    template = template or load_template()
    records, parts = read_files(files, template)
    found = files_reporting_year([p.cells for p in parts]) if parts else None
    source = "given" if year else "files" if found else "assumed"
    year = year or found or date.today().year - 1  # the survey reports on the past year
    intake = intake_parts(records, parts, template, year)
    validated = validate_year(intake.cells, template, year)
    records = records_frame(intake.files)
    quarantine = year_quarantine(records, validated)
    manifest = ingest_manifest(records, [v.accepted for v in validated.values()], quarantine).set_index("source_file")
    columns = {name for kind in template.kinds for name in template.column_names(kind)}
    members = validated["members"].accepted
    members_of = dict(tuple(members.groupby("source_file")))

    checks = []
    for record in intake.files:
        entry = manifest.loc[record.file.name]
        status = STATUS.get(entry["status"]) or ("rows_quarantined" if entry["rows_quarantined"] else "accepted")
        own = quarantine[quarantine["source_file"] == record.file.name]
        checks.append(
            FileCheck(
                file=record.file.name,
                status=status,
                kind=record.kind,
                rows_read=int(entry["rows_read"]),
                rows_accepted=int(entry["rows_accepted"]),
                rows_quarantined=int(entry["rows_quarantined"]),
                problems=_problems(own, columns),
                warnings=_warnings(record, status, members_of.get(record.file.name, members.iloc[:0]), own),
                headers=record.header_mapping,
                template_version=record.template_version,
            )
        )
    return SubmissionCheck(year, source, checks)


def _row_ranges(rows: list[int | None]) -> str:
    """Consecutive rows as ranges (a whole-file problem has no row and is not among them)."""
    runs: list[list[int]] = []
    for row in filter(None, rows):
        if runs and row == runs[-1][-1] + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


@dataclass(frozen=True)
class GroupedProblem:
    """Rows with the very same problem (a members file without its profile fails every row alike)."""

    sheet: str | None
    rows: list[int | None]
    column: str | None
    reason: str

    @property
    def where(self) -> str:
        if len(self.rows) == 1:
            return location(self.sheet, self.rows[0], self.column)
        return location(self.sheet, f"rows {_row_ranges(self.rows)} ({len(self.rows):,} rows)", self.column)

    @property
    def row_text(self) -> str:
        if len(self.rows) == 1:
            return str(self.rows[0] or "")
        return f"{_row_ranges(self.rows)} ({len(self.rows):,} rows)"


def grouped_problems(problems: list[Problem]) -> list[GroupedProblem]:
    """One entry per distinct problem, with every row that has it, in the order first seen."""
    rows_of: dict[tuple, list[int | None]] = {}
    for p in problems:
        rows_of.setdefault((p.sheet, p.column, p.reason), []).append(p.row)
    return [GroupedProblem(sheet, rows, column, reason) for (sheet, column, reason), rows in rows_of.items()]


def _grouped_problems(problems: list[Problem]) -> list[str]:
    return [f"{g.where}: {g.reason}" for g in grouped_problems(problems)]


def as_text(check: SubmissionCheck) -> str:
    """Per file: kind, header mapping, row counts, every problem and warning, then the verdict."""
    year_note = {"given": "", "files": " (from the files)", "assumed": " (assumed: the files give none; pass --year)"}[
        check.year_source
    ]
    lines = [f"reporting year {check.year}{year_note}", ""]
    for file in check.files:
        version = f", template version {file.template_version}" if file.template_version else ""
        lines.append(f"{file.file}: {file.kind}{version}")
        for sheet in dict.fromkeys(m.sheet for m in file.headers):
            mapped = ", ".join(f"{m.header!r} -> {m.column or 'ignored'}" for m in file.headers if m.sheet == sheet)
            lines.append(
                textwrap.fill(
                    mapped,
                    110,
                    initial_indent=f"  headers{f' of sheet {sheet!r}' if sheet else ''}: ",
                    subsequent_indent="    ",
                )
            )
        lines.append(
            f"  rows: {file.rows_read:,} read, {file.rows_accepted:,} would be accepted, "
            f"{file.rows_quarantined:,} would be quarantined"
        )
        # a file set aside says why in its verdict: its file-level problem is not printed twice
        shown = [p for p in file.problems if not (file.status == "set_aside" and p.row is None)]
        lines += [f"  problem: {line}" for line in _grouped_problems(shown)]
        lines += [f"  warning: {w}" for w in file.warnings]
        lines += [f"  verdict: {file.verdict()}", ""]
    lines.append(f"batch: {check.verdict()}")
    return "\n".join(lines)
