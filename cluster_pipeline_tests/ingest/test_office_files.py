"""Files as offices really send them: each case written byte for byte as the office's tool
writes it (Excel's "Unicode text", a workbook with a title, formulas written by a program),
and files set aside so that nobody can miss them."""

import codecs
import os
import zipfile

import dagster as dg
import pandas as pd

from cluster_pipeline.lib.contracts.submissions import records_frame, validate_year
from cluster_pipeline.lib.ingest.intake import intake_year
from cluster_pipeline.lib.ingest.landing import discover, read_tables
from cluster_pipeline.lib.survey.template import load_template
from cluster_pipeline_tests.files import (
    MEMBERS_HEADER,
    MEMBERS_HEADER_DA,
    PROFILE_HEADER_DA,
    member,
    profile,
    write_csv,
    write_xlsx,
)
from cluster_pipeline_tests.runs import run_in_order

MEMBERS = [
    member(name="Fjordtek A/S", cvr="12345674"),
    member(name="Ærø Møbler ApS", postal="5970"),
    member(name="Nordisk Vand", flags=("nej", "ja", "ja", "nej", "ja")),
]


def intake(folder, year=2016):
    return intake_year(folder, load_template(), year)


def cells_of(folder) -> pd.DataFrame:
    return intake(folder).cells["members"].drop(columns=["source_file", "source_sheet"])


def write_unicode_text(path, rows):
    """Excel's "Save as Unicode text": UTF-16 little endian with a BOM, tabs, CRLF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\r\n".join("\t".join(row) for row in rows) + "\r\n"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))


def test_excel_unicode_text_is_read_with_the_same_rows_as_its_plain_version(tmp_path):
    write_csv(tmp_path / "plain" / "medlemmer.csv", [MEMBERS_HEADER_DA, *MEMBERS], ";", "utf-8")
    write_unicode_text(tmp_path / "utf16" / "medlemmer.csv", [MEMBERS_HEADER_DA, *MEMBERS])
    assert (tmp_path / "utf16" / "medlemmer.csv").read_bytes()[:2] == b"\xff\xfe"
    pd.testing.assert_frame_equal(cells_of(tmp_path / "utf16"), cells_of(tmp_path / "plain"))


def test_a_workbook_with_a_title_above_the_header_has_the_same_rows_as_its_plain_version(tmp_path):
    write_xlsx(tmp_path / "plain" / "m.xlsx", {"Medlemmer": [MEMBERS_HEADER_DA, *MEMBERS]})
    write_xlsx(tmp_path / "titled" / "m.xlsx", {"Medlemmer": [["Medlemsliste 2018"], [], MEMBERS_HEADER_DA, *MEMBERS]})
    titled = cells_of(tmp_path / "titled")
    plain = cells_of(tmp_path / "plain")
    assert titled["source_row"].tolist() == [r + 2 for r in plain["source_row"]]  # Excel's own row numbers
    pd.testing.assert_frame_equal(titled.drop(columns="source_row"), plain.drop(columns="source_row"))


def test_the_manifest_records_where_a_header_below_a_title_was_found(tmp_path):
    write_xlsx(tmp_path / "m.xlsx", {"Medlemmer": [["Medlemsliste 2018"], [], MEMBERS_HEADER_DA, *MEMBERS]})
    (record,) = records_frame(intake(tmp_path).files).to_dict("records")
    assert record["status"] == "ingested"
    assert record["header_found"] == "sheet 'Medlemmer': header on row 3"


def formula_workbook(path, cached: dict[str, str] | None = None):
    """Formulas as a program writes them (openpyxl): no saved value, unless given here."""
    rows = [
        MEMBERS_HEADER_DA,
        member(name="Fjordtek A/S"),
        [*member(name="Nordisk Vand")[:13], "=1=1", "nej", "nej"],  # new_products in N3
        [*member(name="Skovbyg ApS")[:9], "=2*6", *member()[10:]],
    ]  # employees in J4
    write_xlsx(path, {"Medlemmer": rows})
    if cached:
        with zipfile.ZipFile(path) as archive:
            parts = {n: archive.read(n) for n in archive.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        for ref, value in cached.items():  # what Excel saves beside the formula
            start = sheet.index(f'<c r="{ref}"')
            sheet = sheet[:start] + sheet[start:].replace("<v />", f"<v>{value}</v>", 1)
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in parts.items():
                archive.writestr(name, data)
    return path


def test_formula_cells_without_a_saved_value_quarantine_their_rows_naming_the_cell(tmp_path):
    write_csv(tmp_path / "2016" / "profil.csv", [PROFILE_HEADER_DA, profile()], ";")
    formula_workbook(tmp_path / "2016" / "medlemmer.xlsx")
    template = load_template()
    members = validate_year(intake_year(tmp_path / "2016", template, 2016).cells, template, 2016)["members"]
    assert members.accepted["name"].tolist() == ["Fjordtek A/S"]
    reasons = dict(zip(members.quarantined["source_row"], members.quarantined["reasons"]))
    assert set(reasons) == {3, 4}
    assert "cell N3 holds a formula without a saved value" in reasons[3][0] and "save it" in reasons[3][0]
    assert "cell J4" in " ".join(reasons[4])


def test_a_formula_cell_with_a_saved_value_reads_that_value(tmp_path):
    formula_workbook(tmp_path / "m.xlsx", cached={"N3": "1", "J4": "12"})
    (table,) = read_tables(discover(tmp_path)[0])
    assert table.rows[1][13] == "1" and table.rows[2][9] == "12"
    assert table.problems == {}


def test_a_tie_in_modification_time_keeps_the_longer_list_and_is_flagged(tmp_path):
    final = [MEMBERS_HEADER, member(name="Old"), member(name="New")]
    write_csv(tmp_path / "a_members.csv", final, mtime=1_000_000)
    write_csv(tmp_path / "b_members.csv", [MEMBERS_HEADER, member(name="Old")], mtime=1_000_000)
    result = intake(tmp_path)
    records = {r.file.name: r for r in result.files}
    assert records["b_members.csv"].status == "superseded" and records["b_members.csv"].tie
    assert "same modification time: the one with more rows wins" in records["b_members.csv"].reasons[0]
    assert not records["a_members.csv"].tie
    assert result.cells["members"]["name"].tolist() == ["Old", "New"]


def test_a_tie_of_lists_of_one_length_is_decided_by_the_name(tmp_path):
    write_csv(tmp_path / "a_members.csv", [MEMBERS_HEADER, member(name="Old")], mtime=1_000_000)
    write_csv(tmp_path / "b_members.csv", [MEMBERS_HEADER, member(name="Old")], mtime=1_000_000)
    records = {r.file.name: r for r in intake(tmp_path).files}
    assert records["a_members.csv"].status == "superseded" and records["a_members.csv"].tie
    assert "the same rows: the name later in alphabetical order wins" in records["a_members.csv"].reasons[0]


def test_the_rows_of_a_file_set_aside_are_counted_where_they_can_be(tmp_path):
    no_postal = [h for h in MEMBERS_HEADER if h != "postal_code"]
    write_csv(tmp_path / "m.csv", [no_postal, *[member()[:5] + member()[6:]] * 7])
    (record,) = intake(tmp_path).files
    assert record.status == "quarantined" and record.rows_read == 7


def two_years(landing):
    """2015: two clusters of 10 members. 2016: cluster 1 sends 40 members (a fourfold jump),
    cluster 2's members file is empty (set aside), its profile arrives."""
    for year, first, second in ((2015, 10, 10), (2016, 40, 0)):
        folder = landing / str(year)
        rows = [profile(cluster=c, year=str(year), until="31.12.2020") for c in ("DK-CL-001", "DK-CL-002")]
        write_csv(folder / "profiler.csv", [PROFILE_HEADER_DA, *rows], ";")
        for cluster, n in (("DK-CL-001", first), ("DK-CL-002", second)):
            members = [member(name=f"Firma {i} ApS", cluster=cluster, year=str(year)) for i in range(n)]
            path = folder / f"{cluster}_medlemmer.csv"
            if members:
                write_csv(path, [MEMBERS_HEADER_DA, *members], ";")
            else:
                path.write_bytes(b"")
        for path in folder.iterdir():
            os.utime(path, (1_600_000_000, 1_600_000_000))


def test_warnings_fire_on_a_cluster_without_members_and_on_a_threefold_jump(tmp_path):
    two_years(tmp_path / "landing")
    with dg.instance_for_test() as instance:
        outcome = run_in_order(tmp_path / "landing", tmp_path / "published", [2015, 2016], instance)
    checks = {c.check_name: c for c in outcome.years[2016].checks}
    silent = checks["every_cluster_with_a_profile_has_members"]
    assert not silent.passed and "DK-CL-002" in silent.metadata["clusters"].value
    jump = checks["member_counts_steady_from_last_year"]
    assert not jump.passed and "DK-CL-001" in jump.metadata["clusters"].value
    assert {c.check_name: c.passed for c in outcome.years[2015].checks}["every_cluster_with_a_profile_has_members"]


def test_the_cli_names_every_file_it_set_aside_or_ignored(tmp_path, capsys):
    from cluster_pipeline.cli import main

    two_years(tmp_path / "landing")
    (tmp_path / "landing" / "2016" / "noter.txt").write_text("husk profilen")
    main(["run", "--landing", str(tmp_path / "landing"), "--output", str(tmp_path / "published"), "--years", "2016"])
    printed = capsys.readouterr().out
    assert "set aside: DK-CL-002_medlemmer.csv: empty file (0 bytes)" in printed
    assert "ignored: noter.txt: not a submission" in printed
    assert "every_cluster_with_a_profile_has_members (warn)" in printed
