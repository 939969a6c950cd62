"""Discover a year's landing files and read them as text cells with lineage.

Reading never interprets values: every cell comes back as the text a person sees
in Excel or a text editor. A file that cannot be read raises FileRejected with a
reason a person can act on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

SUBMISSION_SUFFIXES = {".csv", ".xlsx"}
CSV_DELIMITERS = (",", ";", "\t")
# An XLSX is a zip of XML parts; these bounds are far above any real survey workbook.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_MIN_BYTES = 5 * 1024 * 1024


class FileRejected(Exception):
    """The whole file cannot be used; the message is the reason recorded in quarantine."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    name: str  # relative to the year folder
    size_bytes: int
    sha256: str
    mtime: float

    @property
    def is_submission(self) -> bool:
        return self.path.suffix.lower() in SUBMISSION_SUFFIXES and not self.path.name.startswith((".", "~$"))


@dataclass
class Table:
    """One CSV file or one worksheet: a header and its data rows, as text."""

    source_file: str
    source_sheet: str | None
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # as a person sees them: header is row 1


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def discover(year_dir: Path) -> list[LandingFile]:
    """Every file below a year's landing folder, in a stable order."""
    files = []
    for path in sorted(p for p in year_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        files.append(LandingFile(path, path.relative_to(year_dir).as_posix(), stat.st_size, sha256_of(path), stat.st_mtime))
    return files


def read_tables(file: LandingFile) -> list[Table]:
    if file.size_bytes == 0:
        raise FileRejected("empty file (0 bytes)")
    if file.path.suffix.lower() == ".xlsx":
        return read_xlsx(file)
    return [read_csv(file)]


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first; Danish Excel's Windows-1252 otherwise.
    UTF-8 decoding is strict, so a Windows-1252 file with æøå never passes as UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"cannot decode as UTF-8 or Windows-1252 (byte {exc.start})") from None


def sniff_delimiter(header_line: str) -> str:
    """The header holds column names only, so the delimiter is the one it holds most of."""
    counts = {d: header_line.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise FileRejected("the first line holds a single column: no ',', ';' or tab delimiter found")
    return best


def _blank(cells: list[str]) -> bool:
    return all(not c.strip() for c in cells)


def read_csv(file: LandingFile) -> Table:
    text = decode(file.path.read_bytes())
    if not text.strip():
        raise FileRejected("holds no text")
    if "\x00" in text:
        raise FileRejected("binary content (NUL bytes): not a CSV file")
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        table = Table(file.name, None, [h.strip() for h in header])
        # Excel shows one row per record (a quoted newline stays inside its cell)
        for number, cells in enumerate(reader, start=2):
            if not _blank(cells):
                table.rows.append(cells)
                table.row_numbers.append(number)
    except csv.Error as exc:
        raise FileRejected(f"malformed CSV at line {reader.line_num}: {exc}") from None
    return table


def cell_text(value) -> str:
    """The text a person sees in the cell (numbers without a spurious .0, dates as ISO)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def check_xlsx_container(path: Path) -> None:
    """Refuse zip bombs and XML entity declarations before any XML parser sees the file."""
    if not zipfile.is_zipfile(path):
        raise FileRejected("not a valid XLSX workbook (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise FileRejected(f"zip bomb suspected: {total} bytes uncompressed (limit {MAX_UNCOMPRESSED_BYTES})")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
                    raise FileRejected(f"zip bomb suspected: part {info.filename} expands {ratio:.0f}x")
                if info.filename.endswith((".xml", ".rels")):
                    with archive.open(info) as part:
                        prolog = part.read(4096)
                    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                        raise FileRejected(f"XML entity/DOCTYPE declaration in {info.filename} (entity-expansion attack refused)")
    except zipfile.BadZipFile as exc:
        raise FileRejected(f"not a valid XLSX workbook ({exc})") from None


def read_xlsx(file: LandingFile) -> list[Table]:
    """Every sheet as text cells, read by calamine (Rust: about 10x openpyxl's speed) after
    the container check. Rows are numbered as Excel shows them: calamine is asked for the
    sheet from A1 (skip_empty_area=False), so list position + 1 is the Excel row."""
    check_xlsx_container(file.path)
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(file.path))
    except Exception as exc:  # calamine raises several types for a corrupt workbook
        raise FileRejected(f"cannot be read as an XLSX workbook: {type(exc).__name__}: {exc}") from None
    try:
        tables = []
        for name in workbook.sheet_names:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            if not rows:
                continue
            header = [cell_text(h).strip() for h in rows[0]]
            while header and not header[-1]:  # calamine pads every row to the sheet's width
                header.pop()
            table = Table(file.name, name, header)
            for number, values in enumerate(rows[1:], start=2):
                cells = [cell_text(v) for v in values]
                if not _blank(cells):
                    table.rows.append(cells)
                    table.row_numbers.append(number)
            tables.append(table)
        return tables
    except Exception as exc:
        raise FileRejected(f"cannot be read as an XLSX workbook: {type(exc).__name__}: {exc}") from None
    finally:
        workbook.close()
