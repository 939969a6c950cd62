"""Hand-made landing files for tests: real bytes in each dialect the template allows."""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path

from cluster_pipeline.sample_data import files as sample_files

MEMBERS_HEADER = list(sample_files.MEMBER_COLUMNS)
MEMBERS_HEADER_DA = [
    "klynge_id",
    "år",
    "cvr_nr",
    "navn",
    "adresse",
    "postnr",
    "by",
    "kommunekode",
    "aktørtype",
    "ansatte",
    "forpligtet_medlem",
    "nye_ideer",
    "nye_kompetencer",
    "nye_produkter",
    "samarbejdsprojekt",
    "international_aktivitet",
]
PROFILE_HEADER = list(sample_files.PROFILE_COLUMNS)
PROFILE_HEADER_DA = ["klynge_id", "år", "klyngenavn", "regionskode", "mærke", "mærke_gyldig_til", "årsværk", "stiftet"]


def member(
    name="Fjordtek A/S",
    cvr="",
    postal="8000",
    flags=("ja", "nej", "nej", "ja", "nej"),
    cluster="DK-CL-001",
    year="2016",
    actor="virksomhed",
    employees="12",
    municipality="751",
    committed="ja",
):
    return [
        cluster,
        year,
        cvr,
        name,
        "Havnevej 1",
        postal,
        "Aarhus C",
        municipality,
        actor,
        employees,
        committed,
        *flags,
    ]


def profile(cluster="DK-CL-001", year="2016", label="guld", until="31.12.2017", staff="2,5", region="Midtjylland"):
    return [cluster, year, "Testklyngen", region, label, until, staff, "2005"]


def write_csv(path: Path, rows: list[list[str]], delimiter=",", encoding="utf-8", mtime: float | None = None) -> Path:
    """The sample generator's CSV writer (csv module quoting, CRLF as Excel writes), in one dialect."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sample_files.write_csv(path, rows, sample_files.Dialect("csv", False, delimiter, encoding))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    """The sample generator's workbook writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sample_files.write_xlsx(path, sheets)
    return path


def write_lying_zip_bomb(path: Path, megabytes: int, declared_bytes: int = 100_000, matching_crc: bool = False) -> Path:
    """A real workbook whose sheet part inflates to `megabytes` MB while its headers declare
    `declared_bytes`: the declared totals look harmless, only inflating it shows the truth.
    With `matching_crc` the headers also carry the CRC of the declared bytes, so a reader
    that stops at the declared size finds nothing wrong but a cut-off sheet (it starts with
    a formula, so the formula scan reads it too)."""
    head = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        b'<c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="inlineStr"><is><t>'
    )
    write_xlsx(path, {"members": [MEMBERS_HEADER]})
    with zipfile.ZipFile(path) as archive:
        parts = {info: archive.read(info.filename) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts.items():
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info, data)
                continue
            with archive.open(info.filename, "w") as part:
                part.write(head)
                for _ in range(megabytes):
                    part.write(b"A" * (1 << 20))
                part.write(b"</t></is></c></row></sheetData></worksheet>")
    raw = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    crc = zlib.crc32((head + b"A" * declared_bytes)[:declared_bytes])
    # local headers: CRC at 14, size at 22, name at 30; central headers: CRC at 16, size at 24, name at 46
    for signature, crc_at, size_at, name_at in ((b"PK\x03\x04", 14, 22, 30), (b"PK\x01\x02", 16, 24, 46)):
        start = raw.find(signature)
        while start >= 0:
            if raw[start + name_at : start + name_at + len(name)] == name:
                struct.pack_into("<I", raw, start + size_at, declared_bytes)
                if matching_crc:
                    struct.pack_into("<I", raw, start + crc_at, crc)
            start = raw.find(signature, start + 4)
    path.write_bytes(bytes(raw))
    return path


def cluster_batch(folder: Path, bad_rows: int) -> list[Path]:
    """A cluster's profile and members files, with `bad_rows` members rows that break the contract,
    each with a value of its own (so each is a problem of its own)."""
    rows = [member(name=f"Firma {i} ApS") for i in range(5)] + [
        member(name=f"Fejl {i}", employees=f"mange{i}") for i in range(bad_rows)
    ]
    return [
        write_csv(folder / "profil.csv", [PROFILE_HEADER, profile()]),
        write_csv(folder / "medlemmer.csv", [MEMBERS_HEADER, *rows]),
    ]


def write_zip_bomb(path: Path, megabytes: int) -> Path:
    """A workbook-shaped zip whose sheet part inflates from a few hundred KB to `megabytes` MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            block = b"0" * (1 << 20)
            for _ in range(megabytes):
                part.write(block)
    return path
