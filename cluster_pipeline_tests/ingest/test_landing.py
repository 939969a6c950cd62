import tracemalloc
import zipfile

import pytest

from cluster_pipeline.lib.ingest.intake import intake_year
from cluster_pipeline.lib.ingest.landing import FileRejected, check_xlsx_container, discover, read_tables
from cluster_pipeline.lib.survey.template import load_template
from cluster_pipeline_tests.files import (
    MEMBERS_HEADER,
    MEMBERS_HEADER_DA,
    PROFILE_HEADER_DA,
    member,
    profile,
    write_csv,
    write_lying_zip_bomb,
    write_xlsx,
)


def only_file(folder):
    (file,) = discover(folder)
    return file


@pytest.mark.parametrize(
    "delimiter,encoding", [(",", "utf-8"), (";", "cp1252"), ("\t", "utf-8-sig"), (";", "utf-8-sig")]
)
def test_csv_reads_the_same_cells_in_every_dialect(tmp_path, delimiter, encoding):
    rows = [MEMBERS_HEADER_DA, member(name="Ærø Møllebyg ApS"), member(name="Smith, Jones & Søn I/S")]
    write_csv(tmp_path / "m.csv", rows, delimiter, encoding)
    (table,) = read_tables(only_file(tmp_path))
    assert table.header == MEMBERS_HEADER_DA
    assert [r[3] for r in table.rows] == ["Ærø Møllebyg ApS", "Smith, Jones & Søn I/S"]
    assert table.row_numbers == [2, 3]


def test_xlsx_numbers_read_as_the_text_a_person_sees(tmp_path):
    write_xlsx(
        tmp_path / "w.xlsx",
        {
            "members": [
                MEMBERS_HEADER,
                ["DK-CL-001", 2016, 12345674, "X", None, 800, None, 101, "company", 3, 1, 0, 0, 0, 0, 0],
            ]
        },
    )
    (table,) = read_tables(only_file(tmp_path))
    assert table.rows[0][:3] == ["DK-CL-001", "2016", "12345674"]
    assert table.rows[0][5] == "800" and table.rows[0][10] == "1"


def test_source_row_is_the_row_number_excel_shows(tmp_path):
    write_csv(tmp_path / "m.csv", [MEMBERS_HEADER, member(name="A"), [""] * 16, member(name="B")])
    (table,) = read_tables(only_file(tmp_path))
    assert table.row_numbers == [2, 4]


def test_xlsx_source_row_is_the_row_number_excel_shows(tmp_path):
    write_xlsx(tmp_path / "w.xlsx", {"members": [MEMBERS_HEADER, member(name="A"), [None] * 16, member(name="B")]})
    (table,) = read_tables(only_file(tmp_path))
    assert table.row_numbers == [2, 4]


def test_an_xlsx_cell_beyond_the_header_makes_its_row_longer_than_the_header(tmp_path):
    write_xlsx(tmp_path / "w.xlsx", {"members": [MEMBERS_HEADER, member(name="A"), [*member(name="B"), None, "extra"]]})
    (table,) = read_tables(only_file(tmp_path))
    assert len(table.header) == 16
    assert not any(table.rows[0][16:]) and table.rows[1][17] == "extra"


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "empty file"),
        (b"\x81\x8d\x8f garbage", "cannot decode"),
    ],
)
def test_unreadable_csv_is_rejected_with_a_reason(tmp_path, content, reason):
    (tmp_path / "bad.csv").write_bytes(content)
    with pytest.raises(FileRejected, match=reason):
        read_tables(only_file(tmp_path))


def test_corrupt_xlsx_is_rejected(tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileRejected, match="not a valid XLSX"):
        read_tables(only_file(tmp_path))


def test_zip_bomb_is_rejected_before_parsing(tmp_path):
    with zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))
    with pytest.raises(FileRejected, match="zip bomb"):
        read_tables(only_file(tmp_path))


def test_a_part_inflating_beyond_its_declared_size_is_refused_before_any_reader(tmp_path):
    bomb = write_lying_zip_bomb(tmp_path / "bomb.xlsx", megabytes=50)
    assert sum(i.file_size for i in zipfile.ZipFile(bomb).infolist()) < 1_000_000  # the headers look harmless
    with pytest.raises(FileRejected, match="Bad CRC-32 for file 'xl/worksheets/sheet1.xml'"):
        check_xlsx_container(bomb)


def test_a_bomb_whose_headers_lie_consistently_is_refused_without_inflating_it(tmp_path):
    bomb = write_lying_zip_bomb(tmp_path / "bomb.xlsx", megabytes=200, matching_crc=True)
    check_xlsx_container(bomb)  # size and CRC agree with the bytes up to the declared size
    tracemalloc.start()
    try:
        with pytest.raises(FileRejected, match="cannot be read as an XLSX workbook"):
            read_tables(only_file(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB allocated while refusing it"


def test_xml_entity_declaration_is_rejected(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", {"members": [MEMBERS_HEADER]})
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = (
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + parts["xl/worksheets/sheet1.xml"].split(b"?>", 1)[-1]
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(FileRejected, match="entity"):
        read_tables(only_file(tmp_path))


def intake(folder, year=2016):
    return intake_year(folder, load_template(), year)


def status_of(result):
    return {r.file.name: (r.status, r.reasons) for r in result.files}


def test_danish_workbook_with_instructions_sheet_is_recognised(tmp_path):
    write_xlsx(
        tmp_path / "2016" / "klynge.xlsx",
        {
            "Vejledning": [["Udfyld arkene"]],
            "Medlemmer": [MEMBERS_HEADER_DA, member()],
            "Profil": [PROFILE_HEADER_DA, profile()],
        },
    )
    result = intake(tmp_path / "2016")
    assert status_of(result) == {"klynge.xlsx": ("ingested", [])}
    assert result.files[0].kind == "workbook"
    assert result.cells["members"]["source_sheet"].tolist() == ["Medlemmer"]
    assert result.cells["profile"]["cluster_name"].tolist() == ["Testklyngen"]


def test_headers_match_case_and_separators_loosely(tmp_path):
    header = [h.replace("_", " ").title() for h in MEMBERS_HEADER]
    write_csv(tmp_path / "2016" / "m.csv", [header, member()], "\t")
    assert status_of(intake(tmp_path / "2016"))["m.csv"][0] == "ingested"


def test_unknown_columns_are_dropped_and_reported(tmp_path):
    write_csv(tmp_path / "2016" / "m.csv", [MEMBERS_HEADER + ["contact_email"], member() + ["anna@firma.dk"]])
    result = intake(tmp_path / "2016")
    assert result.files[0].ignored_columns == ["contact_email"]
    assert "contact_email" not in result.cells["members"].columns
    assert not result.cells["members"].astype(str).apply(lambda c: c.str.contains("anna@")).any().any()


def test_rows_that_stop_before_the_last_columns_read_those_cells_as_blank(tmp_path):
    # a hand-made CSV often leaves trailing empty cells out ("...,ja" instead of "...,ja,,")
    write_csv(tmp_path / "2016" / "m.csv", [MEMBERS_HEADER, member()[:-2], member(name="Havtek ApS")[:-3]])
    cells = intake(tmp_path / "2016").cells["members"]
    assert cells["partnership_project"].tolist() == [None, None]
    assert cells["international_activity"].tolist() == [None, None]
    assert cells["new_ideas"].tolist() == ["ja", "ja"]


@pytest.mark.parametrize(
    "rows,reason",
    [
        (
            [[h for h in MEMBERS_HEADER if h != "postal_code"], member()[:5] + member()[6:]],
            "missing required column(s): postal_code",
        ),
        ([MEMBERS_HEADER], "holds no data rows"),
        ([["foo", "bar"], ["1", "2"]], "header not recognised"),
    ],
)
def test_unusable_file_is_quarantined_whole(tmp_path, rows, reason):
    write_csv(tmp_path / "2016" / "f.csv", rows)
    status, reasons = status_of(intake(tmp_path / "2016"))["f.csv"]
    assert status == "quarantined" and reason in reasons[0]


def test_non_submissions_are_ignored(tmp_path):
    (tmp_path / "2016").mkdir()
    (tmp_path / "2016" / "notes.txt").write_text("hej")
    (tmp_path / "2016" / ".DS_Store").write_bytes(b"\0\0")
    assert {s for s, _ in status_of(intake(tmp_path / "2016")).values()} == {"ignored"}


def test_the_later_members_file_of_a_cluster_supersedes_the_earlier(tmp_path):
    write_csv(tmp_path / "2016" / "draft.csv", [MEMBERS_HEADER, member(name="Old")], mtime=1_000_000)
    final = [MEMBERS_HEADER, member(name="Old"), member(name="New")]
    write_csv(tmp_path / "2016" / "final.csv", final, mtime=2_000_000)
    result = intake(tmp_path / "2016")
    statuses = status_of(result)
    assert statuses["draft.csv"][0] == "superseded" and "final.csv" in statuses["draft.csv"][1][0]
    assert statuses["final.csv"] == ("ingested", [])
    assert result.cells["members"]["name"].tolist() == ["Old", "New"]


def test_a_year_without_landing_folder_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "2031")):
        intake(tmp_path / "2031")


def openpyxl_tables(path) -> list[tuple]:
    """The cells as openpyxl (read-only, cached values) sees them: the reader calamine replaced."""
    import openpyxl

    from cluster_pipeline.lib.ingest.landing import cell_text

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    tables = []
    for sheet in workbook.worksheets:
        sheet.reset_dimensions()
        rows = [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        header = [h.strip() for h in rows[0]]
        while header and not header[-1]:
            header.pop()
        body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
        tables.append((sheet.title, header, [n for n, _ in body], [row for _, row in body]))
    workbook.close()
    return tables


def test_calamine_reads_the_sample_workbooks_cell_for_cell_as_openpyxl_did(sample_run):
    workbooks = [
        f
        for f in discover(sample_run.landing / str(sample_run.year))
        if f.name.endswith(".xlsx") and f.name[0].isascii() and "bomb" not in f.name and "attack" not in f.name
    ]
    assert len(workbooks) >= 10
    for file in workbooks:
        ours = [
            (t.source_sheet, t.header, t.row_numbers, [row[: len(t.header) + 2] for row in t.rows])
            for t in read_tables(file)
        ]
        theirs = [
            (sheet, header, numbers, [row[: len(header) + 2] for row in rows])
            for sheet, header, numbers, rows in openpyxl_tables(file.path)
        ]
        assert ours == theirs, file.name
