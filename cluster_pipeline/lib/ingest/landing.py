"""Discover a year's landing files and read them as text cells with lineage.

Reading never interprets values: every cell comes back as the text a person sees
in Excel or a text editor. A file that cannot be read raises FileRejected with a
reason a person can act on.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import tempfile
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path, PurePosixPath

# every workbook format calamine reads, with what each is called in a file's record
WORKBOOK_FORMATS = {
    ".xlsx": "XLSX workbook",
    ".xlsm": "XLSM workbook (Excel, macro-enabled)",
    ".xlsb": "XLSB workbook (Excel binary)",
    ".xls": "XLS workbook (Excel 97-2003)",
    ".ods": "ODS spreadsheet (OpenDocument)",
}
SUBMISSION_SUFFIXES = {".csv", *WORKBOOK_FORMATS}
# files that look like a submission but cannot be read: set aside, saying what to send instead
UNREADABLE_SUBMISSIONS = {
    ".numbers": "a Numbers spreadsheet: export it from Numbers as Excel (.xlsx) or CSV and send that",
    ".pdf": "a PDF cannot be read as data: send the template as Excel (.xlsx) or CSV",
    ".7z": "a 7-Zip archive: send the files in it (Excel or CSV) one by one, or as a .zip",
    ".rar": "a RAR archive: send the files in it (Excel or CSV) one by one, or as a .zip",
    ".tar": "a tar archive: send the files in it (Excel or CSV) one by one, or as a .zip",
    ".docx": "a Word document cannot be read as data: send the template as Excel (.xlsx) or CSV",
    ".doc": "a Word document cannot be read as data: send the template as Excel (.xlsx) or CSV",
}
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file an .xls workbook is
CSV_DELIMITERS = (",", ";", "\t")
# An XLSX is a zip of XML parts; these bounds are far above any real survey workbook.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_MIN_BYTES = 5 * 1024 * 1024
# A submission sent compressed (.csv.gz, or a .zip of CSV and workbook files) is read as the files
# inside, behind the same bounds and these: a cluster sends two or three files, not hundreds.
MAX_ARCHIVE_ENTRIES = 50
ARCHIVES = {".zip", ".gz"}
# Excel's own limit of a cell: a longer field is a pasted blob, and breaks its row, not the file
MAX_CELL_CHARACTERS = 32_767
SHOWN_OF_A_LONG_CELL = 200  # what quarantine keeps of an oversized cell's text
# a CSV with NUL bytes on more than this share of its lines is damaged beyond its rows: set aside whole
MAX_DAMAGED_LINE_SHARE = 0.5


class FileRejected(Exception):
    """The whole file cannot be used; the message is the reason recorded in quarantine."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    name: str  # relative to the year folder, as text (bytes that are not UTF-8 shown as \xNN escapes)
    size_bytes: int
    sha256: str
    mtime: float
    not_followed: str | None = None  # a symbolic link: where it points (never read)
    unpacked_from: str | None = None  # an archive's name, for a file read from inside it
    archive_problem: str | None = None  # an archive that could not be unpacked: why
    unreadable: str | None = None  # a file that could not be opened (its permissions): why

    @property
    def suffix(self) -> str:
        # from the name, not the path: an uploaded file is stored under a name of our own
        return PurePosixPath(self.name).suffix.lower()

    @property
    def is_submission(self) -> bool:
        return self.suffix in SUBMISSION_SUFFIXES and not self.is_temporary and self.not_followed is None

    @property
    def is_archive(self) -> bool:
        return self.suffix in ARCHIVES and not self.is_temporary and self.not_followed is None

    @property
    def is_workbook(self) -> bool:
        return self.suffix in WORKBOOK_FORMATS

    @property
    def is_temporary(self) -> bool:
        """A hidden file or Excel's lock file (~$name.xlsx), never a submission."""
        return PurePosixPath(self.name).name.startswith((".", "~$"))


@dataclass
class Table:
    """One CSV file or one worksheet: a header and its data rows, as text."""

    source_file: str
    source_sheet: str | None
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # as a person sees them: header is row 1
    problems: dict[int, list[str]] = field(default_factory=dict)  # row number -> "<rule>: <message>" found on read
    header_row: int = 1  # where the header was found (a title may stand above it)
    notes: list[str] = field(default_factory=list)  # about the file, for its record (a hidden sheet, an encoding)
    encoding: str = "utf-8"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def landing_file(path: Path, name: str) -> LandingFile:
    """The file at `path`, known (in every record and reason) by `name`."""
    stat = path.stat()
    return LandingFile(path, name, stat.st_size, sha256_of(path), stat.st_mtime)


def shown_name(name: str | bytes) -> str:
    """A file name as text: the bytes the file system gives, those that are not UTF-8 (a Windows
    share mounted with the wrong character set) shown as \\xNN escapes, so no record fails to be written."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def _link(path: Path, name: str) -> LandingFile:
    """A symbolic link, listed and never followed (it may point anywhere, or at itself)."""
    target = os.fsencode(os.readlink(path))
    return LandingFile(path, name, 0, hashlib.sha256(target).hexdigest(), path.lstat().st_mtime, shown_name(target))


def discover(year_dir: Path) -> list[LandingFile]:
    """Every file below a year's landing folder, in a stable order; symbolic links listed, not followed."""
    found = []
    for path in sorted(year_dir.rglob("*")):
        name = shown_name(path.relative_to(year_dir).as_posix())
        if path.is_symlink():
            found.append(_link(path, name))
        elif path.is_file():
            try:
                found.append(landing_file(path, name))
            except OSError as exc:  # not ours to read, or gone since it was listed: the file's problem, not the year's
                stat = path.lstat()
                found.append(
                    LandingFile(path, name, stat.st_size, "", stat.st_mtime, unreadable=exc.strerror or str(exc))
                )
        elif not path.is_dir():  # a named pipe, a socket, a device: listed, never opened (a pipe would block)
            found.append(LandingFile(path, name, 0, "", path.lstat().st_mtime, unreadable="not a regular file"))
    return found


def with_archives_unpacked(files: list[LandingFile]) -> list[LandingFile]:
    """Each archive followed by the files inside it, or with why it cannot be unpacked."""
    found = []
    for file in files:
        inside, problem = unpacked(file) if file.is_archive and file.unpacked_from is None else ([], None)
        found += [replace(file, archive_problem=problem), *inside]
    return found


class _Unpacked:
    """Where archives' files are written to be read: a folder of this process's, removed at exit."""

    folder: tempfile.TemporaryDirectory | None = None

    @classmethod
    def path(cls, archive: LandingFile, index: int, name: str) -> Path:
        if cls.folder is None:
            cls.folder = tempfile.TemporaryDirectory(prefix="cluster_pipeline_unpacked_")
        # our own name (the archive's hash, the entry's place), keeping the suffix the readers go by
        return Path(cls.folder.name) / f"{archive.sha256[:16]}_{index}{PurePosixPath(name).suffix.lower()}"


class ArchiveRejected(FileRejected):
    """An archive that cannot be unpacked safely: the archive is set aside with the reason."""


def _inflated(stream, what: str) -> bytes:
    """At most MAX_UNCOMPRESSED_BYTES of a compressed stream, read in chunks: a bomb stops here."""
    chunks, total = [], 0
    while chunk := stream.read(1 << 20):
        total += len(chunk)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ArchiveRejected(f"{what} expands beyond {MAX_UNCOMPRESSED_BYTES:,} bytes: a bomb suspected")
        chunks.append(chunk)
    return b"".join(chunks)


def _entries(archive: LandingFile) -> list[tuple[str, bytes]]:
    """(name inside, bytes) of a .gz (one file) or a .zip, behind the bounds on size, ratio and entries."""
    try:
        if archive.suffix == ".gz":
            with gzip.open(archive.path) as stream:
                return [(PurePosixPath(archive.name).stem, _inflated(stream, "the compressed file"))]
        with zipfile.ZipFile(archive.path) as zipped:
            infos = [i for i in zipped.infolist() if not i.is_dir()]
            if len(infos) > MAX_ARCHIVE_ENTRIES:
                raise ArchiveRejected(f"a zip archive of {len(infos)} files (at most {MAX_ARCHIVE_ENTRIES} are read)")
            if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED_BYTES:
                raise ArchiveRejected(f"zip bomb suspected: more than {MAX_UNCOMPRESSED_BYTES:,} bytes uncompressed")
            entries = []
            for info in infos:
                if info.flag_bits & 0x1:
                    raise ArchiveRejected(f"{info.filename} is encrypted: send the archive without a password")
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
                    raise ArchiveRejected(f"zip bomb suspected: {info.filename} expands {ratio:.0f}x")
                with zipped.open(info) as stream:
                    entries.append((info.filename, _inflated(stream, info.filename)))
            return entries
    except NotImplementedError as exc:  # a compression zipfile does not read (Deflate64, a newer method)
        raise ArchiveRejected(f"{exc}: save the archive with ordinary zip compression and send it again") from None
    except (OSError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error) as exc:
        raise ArchiveRejected(f"a damaged archive ({exc}): send the files in it again") from None


def unpacked(archive: LandingFile) -> tuple[list[LandingFile], str | None]:
    """The files inside an archive, each known as <archive>/<its name inside> and read like any
    other (an entry that is an archive itself is listed, and set aside by intake: no nesting);
    or none, and why, for an archive that breaks a bound or is damaged."""
    try:
        entries = _entries(archive)
    except ArchiveRejected as exc:
        return [], str(exc)
    if not entries:
        return [], "an archive with no files in it: send the files themselves"
    files = []
    for index, (inner, data) in enumerate(entries):
        # a name inside is a label only: the bytes are written under a name of our own
        name = f"{archive.name}/{shown_name(inner).lstrip('/')}"
        path = _Unpacked.path(archive, index, inner)
        path.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        files.append(LandingFile(path, name, len(data), digest, archive.mtime, unpacked_from=archive.name))
    return files, None


def read_tables(file: LandingFile) -> list[Table]:
    if file.size_bytes == 0:
        raise FileRejected("empty file (0 bytes)")
    if file.is_workbook:
        return read_workbook(file)
    return [read_csv(file)]


# a UTF-8 multi-byte sequence: evidence that a file is UTF-8 (Windows-1252 text almost never holds one)
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, kept by surrogateescape


def _decode(raw: bytes) -> tuple[str, str, int]:
    """(text, codec, length of the byte-order mark), decided with evidence. Excel's "Unicode
    text" export is UTF-16 with a BOM. A file with a UTF-8 BOM, or one whose non-ASCII bytes
    are mostly UTF-8 sequences, is UTF-8: a stray byte that is not (one Windows-1252 'ø'
    pasted in) is kept as a surrogate escape, so the row that holds it is quarantined rather
    than the whole file re-read as Windows-1252 (which garbles every other æ, ø, å). Only a
    file that is not UTF-8 is read as Danish Excel's Windows-1252."""
    for mark, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(mark):
            try:
                return raw[len(mark) :].decode(codec), codec, len(mark)
            except UnicodeDecodeError as exc:
                raise FileRejected(f"starts as UTF-16 but cannot be decoded (byte {exc.start + len(mark)})") from None
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    body = raw[bom:]
    try:
        return body.decode("utf-8"), "utf-8", bom
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", errors="surrogateescape")
    stray = len(_NOT_UTF8.findall(text))
    if bom or len(_UTF8_SEQUENCE.findall(body)) > stray:
        return text, "utf-8", bom
    try:
        return body.decode("cp1252"), "cp1252", bom
    except UnicodeDecodeError as exc:
        raise FileRejected(f"cannot decode as UTF-16, UTF-8 or Windows-1252 (byte {exc.start + bom})") from None


def decode(raw: bytes) -> str:
    return _decode(raw)[0]


def sniff_delimiter(header_line: str) -> str:
    """The header holds column names only, so the delimiter is the one it holds most of."""
    counts = {d: header_line.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise FileRejected("the first line holds a single column: no ',', ';' or tab delimiter found")
    return best


def _blank(cells: list[str]) -> bool:
    return not "".join(cells).strip()


# UTF-8 æ ø å Æ Ø Å é ü read as Windows-1252 and saved again as UTF-8: 'MÃ¸lledata'
_DOUBLE_ENCODED = re.compile("Ã[¦¸¥†˜…©¼]")


def _encoding_problems(table: Table, lines: list[str], bom: int, last_lines: dict[int, int]) -> None:
    """Rows holding a byte that is not UTF-8 (in a UTF-8 file) are marked with the line and
    byte offset, the byte shown as U+FFFD; text that looks double-encoded is a note on the file.
    `last_lines`: row number -> the last line of the row (a quoted newline stays inside a cell)."""
    offset = bom
    for number, line in enumerate(lines, start=1):
        stray = _NOT_UTF8.search(line)
        if stray:
            byte = ord(stray.group()) - 0xDC00
            at = offset + len(line[: stray.start()].encode("utf-8", errors="surrogateescape"))
            row = next((r for r, last in last_lines.items() if last >= number), None)
            if row is None or row not in table.row_numbers:
                raise FileRejected(
                    f"the header holds a byte that is not UTF-8 (0x{byte:02X} at byte offset {at}) in a file that "
                    "is otherwise UTF-8: save the file as UTF-8 (CSV UTF-8 in Excel) and send it again"
                )
            table.problems.setdefault(row, []).append(
                f"row.encoding: line {number} holds a byte that is not UTF-8 (0x{byte:02X} at byte offset {at}) "
                "in a file that is otherwise UTF-8: save the file as UTF-8 (CSV UTF-8 in Excel) and send it again"
            )
            position = table.row_numbers.index(row)
            table.rows[position] = [_NOT_UTF8.sub("\ufffd", cell) for cell in table.rows[position]]
        offset += len(line.encode("utf-8", errors="surrogateescape"))
    garbled = next((i for i, line in enumerate(lines, start=1) if _DOUBLE_ENCODED.search(line)), None)
    if garbled:
        sample = _DOUBLE_ENCODED.search(lines[garbled - 1]).group()  # type: ignore[union-attr]  # found above
        table.notes.append(
            f"text looks double-encoded ({sample!r} on line {garbled}, where an æ, ø or å belongs): the file "
            "was probably converted twice; check the names before it is published"
        )


def _without_damage(text: str) -> tuple[str, dict[int, int]]:
    """The text without its NUL bytes (a damaged transfer, binary content), and line -> NUL bytes
    it held. Damage in the header, or on more than MAX_DAMAGED_LINE_SHARE of the lines, is beyond
    the rows: the file is set aside whole."""
    if "\x00" not in text:
        return text, {}
    lines = text.split("\n")
    damaged = {number: line.count("\x00") for number, line in enumerate(lines, start=1) if "\x00" in line}
    if 1 in damaged or len(damaged) > MAX_DAMAGED_LINE_SHARE * len(lines):
        first = min(damaged)
        raise FileRejected(
            f"NUL bytes on {len(damaged):,} of its {len(lines):,} lines (the first on line {first}): binary "
            "content or a file damaged beyond its rows, not a CSV file; send it again"
        )
    return text.replace("\x00", ""), damaged


def _damaged_rows(table: Table, damaged: dict[int, int], last_lines: dict[int, int]) -> None:
    """Each row a damaged line touches is quarantined with where and how much; the file's record says it."""
    for line, count in damaged.items():
        row = next((r for r, last in last_lines.items() if last >= line), None)
        if row is not None and row in table.row_numbers:
            table.problems.setdefault(row, []).append(
                f"row.damaged: line {line} held {count:,} NUL bytes (a damaged transfer): the row cannot be "
                "trusted; send the file again"
            )
    shown = ", ".join(f"line {line} ({count:,} bytes)" for line, count in list(damaged.items())[:5])
    table.notes.append(
        f"damaged: NUL bytes on {len(damaged):,} line(s), {shown}{' ...' if len(damaged) > 5 else ''}; "
        "the rows they touch are quarantined, the others read"
    )


def _oversized_cells(table: Table) -> None:
    """A cell longer than a spreadsheet cell can be (a pasted blob) breaks its row: the row is
    quarantined saying the size, the cell kept as its first characters."""
    for position, cells in enumerate(table.rows):
        for column, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARACTERS:
                row = table.row_numbers[position]
                header = table.header[column] if column < len(table.header) else f"column {column + 1}"
                table.problems.setdefault(row, []).append(
                    f"row.cell_size: the cell under {header!r} holds {len(cell):,} characters, more than a "
                    f"spreadsheet cell holds ({MAX_CELL_CHARACTERS:,}): remove the pasted text and send the file again"
                )
                cells[column] = f"{cell[:SHOWN_OF_A_LONG_CELL]}... ({len(cell):,} characters)"


def read_csv(file: LandingFile) -> Table:
    text, codec, bom = _decode(file.path.read_bytes())
    if not text.strip():
        raise FileRejected("holds no text")
    text, damaged = _without_damage(text)
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    csv.field_size_limit(MAX_UNCOMPRESSED_BYTES)  # a long cell is its row's problem (_oversized_cells), not the file's
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        table = Table(file.name, None, [h.strip() for h in header], encoding=codec)
        # Excel shows one row per record (a quoted newline stays inside its cell)
        last_lines = {1: reader.line_num}
        for number, cells in enumerate(reader, start=2):
            last_lines[number] = reader.line_num
            if not _blank(cells):
                table.rows.append(cells)
                table.row_numbers.append(number)
    except csv.Error as exc:
        raise FileRejected(f"malformed CSV at line {reader.line_num}: {exc}") from None
    _oversized_cells(table)
    if damaged:
        _damaged_rows(table, damaged, last_lines)
    if codec == "utf-8" and (_NOT_UTF8.search(text) or _DOUBLE_ENCODED.search(text)):
        # the lines as the csv reader counts them
        _encoding_problems(table, io.StringIO(text, newline="").readlines(), bom, last_lines)
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


FORMULA_MARKERS = (b"<f", b":f")  # <f> or a prefixed <x:f>


def check_workbook_container(path: Path, suffix: str) -> set[str]:
    """The guard that fits the format's container, before any reader sees the file; returns the
    parts the formula scan must parse (only an Office Open XML workbook's sheets are scanned:
    .xlsb holds binary parts, .ods saves a value with every formula, .xls is not a zip)."""
    if suffix == ".xls":
        with path.open("rb") as handle:
            if handle.read(len(OLE2_SIGNATURE)) != OLE2_SIGNATURE:
                raise FileRejected(f"not a valid {WORKBOOK_FORMATS[suffix]}: not an OLE2 compound file")
        if path.stat().st_size > MAX_UNCOMPRESSED_BYTES:
            raise FileRejected(f"workbook larger than {MAX_UNCOMPRESSED_BYTES} bytes")
        return set()
    with_formulas = check_xlsx_container(path, WORKBOOK_FORMATS[suffix])
    return with_formulas if suffix in (".xlsx", ".xlsm") else set()


def check_xlsx_container(path: Path, what: str = "XLSX workbook") -> set[str]:
    """Refuse zip bombs and XML entity declarations before any XML parser sees the file, and
    return the parts that may hold formulas (the only ones the formula scan must parse).

    Every part is inflated here once, in chunks, and thrown away: zipfile stops at the size
    the part's header declares and checks its CRC, so a part that inflates beyond what its
    header says (a bomb with lying sizes, which the declared totals cannot show) is refused
    here. Were its CRC forged to match the declared bytes, every later reader still stops at
    the declared size: calamine refuses the part, and the formula scan streams it."""
    if not zipfile.is_zipfile(path):
        raise FileRejected(f"not a valid {what} (not a zip archive)")
    with_formulas = set()
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
                with archive.open(info) as part:
                    chunk = part.read(4096)
                    if info.filename.endswith((".xml", ".rels")) and (b"<!DOCTYPE" in chunk or b"<!ENTITY" in chunk):
                        raise FileRejected(
                            f"XML entity/DOCTYPE declaration in {info.filename} (entity-expansion attack refused)"
                        )
                    last = b""
                    while chunk:
                        window = last + chunk  # a marker may straddle two chunks
                        if any(marker in window for marker in FORMULA_MARKERS):
                            with_formulas.add(info.filename)
                        last, chunk = chunk[-1:], part.read(1 << 20)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise FileRejected(f"not a valid {what} ({exc})") from None
    return with_formulas


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
FORMULA_WITHOUT_VALUE = (
    "cell.formula: cell {ref} holds a formula without a saved value (the file was written by a "
    "program, not saved by Excel): open the file in Excel, save it and send it again"
)


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part, from the workbook and its relationships."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    parts = {}
    for sheet in workbook.iter(f"{_SHEET_NS}sheet"):
        target = targets.get(sheet.get(f"{_REL_NS}id"), "")
        parts[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def formulas_without_value(path: Path, parts_with_formulas: set[str]) -> dict[str, list[str]]:
    """Per sheet, the cells holding a formula with no saved (cached) value: a reader sees
    them blank, so they must never pass as blanks. Excel always saves values; tools that
    write formulas (openpyxl, scripts) often do not. Only the parts check_xlsx_container
    found formula markers in are parsed."""
    found: dict[str, list[str]] = {}
    if not parts_with_formulas:
        return found
    with zipfile.ZipFile(path) as archive:
        for name, part in _sheet_parts(archive).items():
            if part not in parts_with_formulas:
                continue
            # streamed: zipfile's read() of a whole part inflates everything the deflate stream
            # holds before cutting it to the declared size; a stream reads in small chunks
            with archive.open(part) as stream:
                for _, cell in ElementTree.iterparse(stream):
                    if cell.tag != f"{_SHEET_NS}c":
                        continue
                    value = cell.find(f"{_SHEET_NS}v")
                    # an empty string result is saved as an empty value of type "str"
                    if cell.find(f"{_SHEET_NS}f") is not None and (
                        value is None or not value.text and cell.get("t") != "str"
                    ):
                        found.setdefault(name, []).append(cell.get("r", "?"))
                    cell.clear()
    return found


def _mark_formula_cells(table: Table, refs: list[str]) -> None:
    """Each row with such a cell is kept (even when it reads all blank) with the reason."""
    for ref in refs:
        match = _CELL_REF.fullmatch(ref)
        number = int(match.group(2)) if match else 0
        if number <= table.header_row:
            continue
        if number not in table.row_numbers:
            at = sum(n < number for n in table.row_numbers)
            table.row_numbers.insert(at, number)
            table.rows.insert(at, [""] * len(table.header))
        table.problems.setdefault(number, []).append(FORMULA_WITHOUT_VALUE.format(ref=ref))


def read_workbook(file: LandingFile) -> list[Table]:
    """Every sheet of a workbook in any format calamine reads (WORKBOOK_FORMATS) as text cells,
    read by calamine (Rust: about 10x openpyxl's speed) after the container check. Rows are
    numbered as Excel shows them: calamine is asked for the sheet from A1
    (skip_empty_area=False), so list position + 1 is the Excel row."""
    what = WORKBOOK_FORMATS[file.suffix]
    parts_with_formulas = check_workbook_container(file.path, file.suffix)
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_path(str(file.path))
    except Exception as exc:  # calamine raises several types for a corrupt workbook
        raise FileRejected(f"cannot be read as an {what}: {type(exc).__name__}: {exc}") from None
    try:
        formulas = formulas_without_value(file.path, parts_with_formulas)
        tables = []
        # a hidden sheet is not what the sender sees (last year's list, a lookup): never read as data
        hidden = [s.name for s in workbook.sheets_metadata if s.visible != SheetVisibleEnum.Visible]
        notes = [f"sheet {name!r} is hidden: ignored, not read as data" for name in hidden]
        for name in (n for n in workbook.sheet_names if n not in hidden):
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            if not rows:
                continue
            header = [cell_text(h).strip() for h in rows[0]]
            while header and not header[-1]:  # calamine pads every row to the sheet's width
                header.pop()
            table = Table(file.name, name, header)
            for number, values in enumerate(rows[1:], start=2):
                cells = [v if type(v) is str else cell_text(v) for v in values]  # most cells are text
                if not _blank(cells):
                    table.rows.append(cells)
                    table.row_numbers.append(number)
            _mark_formula_cells(table, formulas.get(name, []))
            tables.append(table)
        if not tables and hidden:
            raise FileRejected(f"holds no visible sheet (hidden: {', '.join(hidden)})")
        if tables and file.suffix != ".xlsx":
            notes.append(f"read as an {what}")
        if tables:
            tables[0].notes += notes
        return tables
    except FileRejected:
        raise
    except Exception as exc:
        raise FileRejected(f"cannot be read as an {what}: {type(exc).__name__}: {exc}") from None
    finally:
        workbook.close()
