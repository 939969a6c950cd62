"""How the sample is written: the template's columns in seven secretariat dialects (CSV
delimiters and encodings, XLSX, Danish or English headers and values), planted broken
rows, and broken files."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.vocabulary import FLAGS

MEMBER_COLUMNS = [
    "cluster_id",
    "reporting_year",
    "cvr",
    "name",
    "address",
    "postal_code",
    "city",
    "municipality_code",
    "actor_type",
    "employees",
    "committed_member",
    *FLAGS,
]
# template version 2 (from 2017): member_type replaces committed_member; services_used is new
MEMBER_COLUMNS_V2 = [
    *MEMBER_COLUMNS[: MEMBER_COLUMNS.index("committed_member")],
    "member_type",
    "services_used",
    *FLAGS,
]


def member_columns(template_version: int) -> list[str]:
    return MEMBER_COLUMNS if template_version == 1 else MEMBER_COLUMNS_V2


PROFILE_COLUMNS = [
    "cluster_id",
    "reporting_year",
    "cluster_name",
    "region_code",
    "label",
    "label_valid_until",
    "staff_fte",
    "founded_year",
]
DANISH_HEADERS = {
    "cluster_id": "klynge_id",
    "reporting_year": "år",
    "cvr": "cvr_nr",
    "name": "navn",
    "address": "adresse",
    "postal_code": "postnr",
    "city": "by",
    "municipality_code": "kommunekode",
    "actor_type": "aktørtype",
    "employees": "ansatte",
    "committed_member": "forpligtet_medlem",
    "member_type": "Medlemstype",  # as the version 2 template prints them
    "services_used": "Ydelser brugt",
    "new_ideas": "nye_ideer",
    "new_competences": "nye_kompetencer",
    "new_products": "nye_produkter",
    "partnership_project": "samarbejdsprojekt",
    "international_activity": "international_aktivitet",
    "cluster_name": "klyngenavn",
    "region_code": "regionskode",
    "label": "mærke",
    "label_valid_until": "mærke_gyldig_til",
    "staff_fte": "årsværk",
    "founded_year": "stiftet",
}
DANISH_VALUES = {
    "company": "virksomhed",
    "knowledge_institution": "videninstitution",
    "public_actor": "offentlig",
    "gold": "guld",
    "silver": "sølv",
    "bronze": "bronze",
    "in_process": "i_proces",
    "none": "ingen",
    "committed": "forpligtet",
    "participant": "deltager",
}
REGION_NAMES = seeds.region_names()


# Seven dialects: how a cluster's secretariat writes its files.
@dataclass(frozen=True)
class Dialect:
    container: str  # xlsx or csv
    danish: bool
    delimiter: str = ","
    encoding: str = "utf-8"
    booleans: tuple[str, str] = ("true", "false")
    date_format: str = "%Y-%m-%d"
    decimal_comma: bool = False
    header_style: str = "snake"  # snake, title, upper
    personal_column: str | None = None
    numeric_cells: bool = False


DIALECTS = [
    Dialect("xlsx", False, booleans=("TRUE", "FALSE"), personal_column="contact_email"),
    Dialect("xlsx", True, booleans=("ja", "nej"), date_format="%d-%m-%Y", numeric_cells=True),
    Dialect("csv", False, ",", "utf-8", ("yes", "no"), personal_column="contact_email"),
    Dialect("csv", True, ";", "cp1252", ("x", ""), "%d.%m.%Y", decimal_comma=True),
    Dialect("csv", False, "\t", "utf-8-sig", ("1", "0"), "%d-%m-%Y", header_style="title"),
    Dialect(
        "csv",
        True,
        ";",
        "utf-8-sig",
        ("JA", "NEJ"),
        decimal_comma=True,
        header_style="upper",
        personal_column="kontakt_email",
    ),
    Dialect("csv", False, ";", "cp1252", ("Yes", "No"), "%d.%m.%Y", decimal_comma=True),
]


@dataclass
class Sheet:
    """Rows of one members or profile table before it is written; truth per row."""

    kind: str
    rows: list[dict] = field(default_factory=list)
    truth: list[str | None] = field(default_factory=list)  # entity per row; None for a planted bad row
    expected: dict[int, list[str]] = field(default_factory=dict)  # row position -> rules it must break
    columns: list[str] = field(default_factory=list)  # the template columns it is written with


def _set(**values):
    return lambda row: row.update(values)


# Planted broken members rows: the change, and the rules the row must be quarantined for.
BAD_MEMBER_ROWS = [
    (_set(name=""), ["name.required"]),
    (_set(postal_code="12"), ["postal_code.range"]),
    (_set(postal_code="8OOO"), ["postal_code.integer"]),
    (_set(actor_type="firma"), ["actor_type.allowed_values"]),
    (_set(new_products="maybe"), ["new_products.boolean"]),
    (_set(cluster_id="DK-CL-9"), ["cluster_id.pattern", "cluster_id.foreign_key"]),
    (_set(cluster_id="DK-CL-099"), ["cluster_id.foreign_key"]),
    (_set(employees="-5"), ["employees.range"]),
    (_set(municipality_code="999"), ["municipality_code.reference"]),
    (_set(postal_code="", committed_member="perhaps"), ["postal_code.required", "committed_member.boolean"]),
    (_set(employees="mange"), ["employees.integer"]),
    (_set(actor_type=""), ["actor_type.required"]),
]
# In a version 2 file: the same rows (committed_member's slip now in member_type), and slips in the new columns.
BAD_MEMBER_ROWS_V2 = [
    (_set(postal_code="", member_type="perhaps"), ["postal_code.required", "member_type.allowed_values"])
    if "committed_member.boolean" in rules
    else (mutate, rules)
    for mutate, rules in BAD_MEMBER_ROWS
] + [
    (_set(services_used="-1"), ["services_used.range"]),
    (_set(services_used="mange"), ["services_used.integer"]),
    (_set(services_used="150"), ["services_used.range"]),
    (_set(services_used=""), ["services_used.required"]),
    (_set(member_type="passiv"), ["member_type.allowed_values"]),
]


def render(value, column: str, dialect: Dialect):
    """A value as this secretariat writes it (Danish words, decimal commas, date styles)."""
    if value is None or value == "":
        return ""
    if isinstance(value, (bool, np.bool_)):
        return dialect.booleans[0] if value else dialect.booleans[1]
    if isinstance(value, date):
        return value.strftime(dialect.date_format)
    if column == "member_type":  # an enumeration in every spelling the template allows
        word = DANISH_VALUES.get(value, value) if dialect.danish else value
        return {"upper": word.upper(), "title": word.title()}.get(dialect.header_style, word)
    if column in ("actor_type", "label") and dialect.danish:
        return DANISH_VALUES.get(value, value)
    if column == "region_code" and dialect.danish:
        return REGION_NAMES[value]
    if isinstance(value, (float, np.floating)):
        text = f"{value:g}"
        return text.replace(".", ",") if dialect.decimal_comma else text
    if (
        dialect.numeric_cells
        and column in ("cvr", "postal_code", "employees", "municipality_code", "reporting_year")
        and str(value).isdigit()
    ):
        return int(value)
    return str(value) if not isinstance(value, (int, np.integer)) or not dialect.numeric_cells else int(value)


def header(column: str, dialect: Dialect) -> str:
    name = DANISH_HEADERS[column] if dialect.danish else column
    if dialect.header_style == "title":
        return name.replace("_", " ").title()
    if dialect.header_style == "upper":
        return name.upper()
    return name


def table_values(sheet: Sheet, columns: list[str], dialect: Dialect, extra_cells: set[int] = frozenset()) -> list[list]:
    head = [header(c, dialect) for c in columns]
    if dialect.personal_column and sheet.kind == "members":
        head.append(dialect.personal_column)
    values = [head]
    for i, row in enumerate(sheet.rows):
        cells = [render(row.get(c), c, dialect) for c in columns]
        if dialect.personal_column and sheet.kind == "members":
            cells.append(f"kontakt{i}@example.dk")
        if i in extra_cells:
            cells += ["", "unexpected extra cell"]
        values.append(cells)
    return values


def write_csv(path: Path, values: list[list], dialect: Dialect) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator="\r\n")
    writer.writerows([[("" if v is None else str(v)) for v in row] for row in values])
    path.write_bytes(buffer.getvalue().encode(dialect.encoding, errors="replace"))


def write_xlsx(path: Path, sheets: dict[str, list[list]], hidden: set[str] = frozenset()) -> None:
    """A workbook with a sheet per entry; the sheets named in `hidden` hidden (as Excel's Hide does)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    for title, values in sheets.items():
        sheet = workbook.create_sheet(title)
        if title in hidden:
            sheet.sheet_state = "hidden"
        for row in values:
            sheet.append(row)
    workbook.save(path)


def bad_xlsx_with_entities(path: Path) -> None:
    write_xlsx(path, {"members": [["cluster_id", "name"], ["DK-CL-001", "x"]]})
    bomb = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/"))
    declaration, _, body = parts[sheet].rpartition(b"?>")
    parts[sheet] = (declaration + b"?>" if declaration else b"") + bomb + body
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
