"""Slips as offices make them, on a small sample year run through Dagster: each file changed
the way the slip changes it (workbooks written by their own writers), the year run again, and
its figures compared with the unchanged year's where the meaning is unambiguous. The
pre-submission check must say of every file what the run did."""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import zipfile
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from cluster_pipeline.lib.contracts.pre_submission import batch_files, check_submission
from cluster_pipeline.lib.ingest.landing import sniff_delimiter
from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline.lib.survey.model import canonical_token
from cluster_pipeline.sample_data.generate import generate
from cluster_pipeline_tests.runs import run_in_order

YEAR, LAST_YEAR = 2016, 2015
FIGURES = ["national_outcomes", "regional_outcomes", "cluster_outcomes", "indicator_status", "clusters"]
MANIFEST_STATUS = {"quarantined": "set_aside", "ignored": "ignored", "superseded": "superseded"}


class Year:
    """A sample year's landing folder and what a run of it published."""

    def __init__(self, landing: Path, output: Path, outcome):
        self.landing, self.output, self.outcome = landing, output, outcome

    @property
    def folder(self) -> Path:
        return self.landing / str(YEAR)

    def table(self, name: str) -> pd.DataFrame:
        return read_partition(self.output, name, YEAR)

    def manifest(self) -> pd.DataFrame:
        return self.table("ingest_manifest").set_index("source_file")

    def check(self, name: str):
        (found,) = [c for c in self.outcome.years[YEAR].checks if c.check_name == name]
        return found


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory) -> Year:
    root = tmp_path_factory.mktemp("slips")
    generate(root / "landing", [LAST_YEAR, YEAR], scale=0.2, seed=32)
    with dg.instance_for_test() as instance:
        outcome = run_in_order(root / "landing", root / "published", [LAST_YEAR, YEAR], instance)
    assert all(outcome.years[y].success for y in (LAST_YEAR, YEAR))
    return Year(root / "landing", root / "published", outcome)


@pytest.fixture
def slipped(unchanged, tmp_path):
    """A copy of the landing folder to change, and a run of the year over the unchanged last year."""
    landing = tmp_path / "landing"
    shutil.copytree(unchanged.landing, landing, copy_function=shutil.copy2)  # modification times kept

    def run() -> Year:
        output = tmp_path / "published"
        shutil.copytree(unchanged.output, output)
        with dg.instance_for_test() as instance:
            outcome = run_in_order(landing, output, [YEAR], instance)
        assert outcome.years[YEAR].success, outcome.years[YEAR].errors
        year = Year(landing, output, outcome)
        assert_check_agrees_with_the_run(year)
        assert year.check("rows_accounted_for").passed
        return year

    return landing / str(YEAR), run


def assert_figures_equal(year: Year, unchanged: Year) -> None:
    for name in FIGURES:
        pd.testing.assert_frame_equal(year.table(name), unchanged.table(name), obj=name)
    assert len(year.table("companies")) == len(unchanged.table("companies"))


def assert_check_agrees_with_the_run(year: Year) -> None:
    found = check_submission(batch_files(sorted(p for p in year.folder.iterdir() if p.is_file())), year=YEAR)
    manifest = year.manifest()
    assert sorted(f.file for f in found.files) == sorted(manifest.index)
    for file in found.files:
        entry = manifest.loc[file.file]
        status = MANIFEST_STATUS.get(entry["status"]) or (
            "rows_quarantined" if entry["rows_quarantined"] else "accepted"
        )
        run = (status, entry["rows_read"], entry["rows_accepted"], entry["rows_quarantined"])
        assert (file.status, file.rows_read, file.rows_accepted, file.rows_quarantined) == run, file.file


def utf8_csvs(folder: Path, pattern: str) -> list[Path]:
    """The CSV files of the pattern that are UTF-8 (what a web form's text can be pasted into)."""
    found = []
    for path in sorted(folder.glob(pattern)):
        raw = path.read_bytes()
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        found.append(path)
    assert found, f"no UTF-8 {pattern} in {folder}"
    return found


def utf8_csv(folder: Path, pattern: str) -> Path:
    return utf8_csvs(folder, pattern)[0]


def edit_csv(path: Path, edit) -> None:
    """Rewrite a UTF-8 CSV file with edit(header, rows) applied, as a spreadsheet saves it again."""
    raw = path.read_bytes()
    bom = raw.startswith(codecs.BOM_UTF8)
    text = raw.decode("utf-8-sig")
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = edit(header, rows)
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    stat = path.stat()
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode("utf-8"))
    os.utime(path, (stat.st_atime, stat.st_mtime))


def column(header: list[str], *names: str) -> int:
    (at,) = [i for i, h in enumerate(header) if canonical_token(h) in names]
    return at


def test_invisible_characters_pasted_into_cvr_numbers_and_names_change_no_figure(unchanged, slipped):
    folder, run = slipped
    path = utf8_csv(folder, "*_members_*.csv")

    def paste(header, rows):
        cvr, name = column(header, "cvr", "cvr_nr"), column(header, "name", "navn")
        for row in rows:
            if row[cvr]:
                row[cvr] = row[cvr][:4] + "\u200b" + row[cvr][4:]
            row[name] = row[name][:3] + "\u00ad" + row[name][3:] + "\u2060\ufeff"
        return rows

    edit_csv(path, paste)
    year = run()
    assert_figures_equal(year, unchanged)
    assert "invisible character(s)" in year.manifest().loc[path.name, "reason"]


def workbook_rows(path: Path) -> dict[str, list[list]]:
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}
    finally:
        workbook.close()


def write_xls(path: Path, sheets: dict[str, list[list]]) -> None:
    """Excel 97-2003 (BIFF8), by xlwt."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    book.save(str(path))


def write_with_pandas(engine: str):
    def write(path: Path, sheets: dict[str, list[list]]) -> None:
        with pd.ExcelWriter(path, engine=engine) as writer:
            for name, rows in sheets.items():
                pd.DataFrame(rows).to_excel(writer, sheet_name=name, header=False, index=False)

    return write


WRITERS = {
    ".xlsm": write_with_pandas("openpyxl"),  # Excel's macro-enabled workbook: the same Office Open XML container
    ".xls": write_xls,
    ".ods": write_with_pandas("odf"),  # LibreOffice's own format, by odfpy
}


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_a_workbook_in_another_excel_format_is_read_as_its_xlsx(unchanged, slipped, suffix):
    folder, run = slipped
    original = sorted(folder.glob("*.xlsx"))[0]
    saved = original.with_suffix(suffix)
    WRITERS[suffix](saved, workbook_rows(original))
    stat = original.stat()
    original.unlink()
    os.utime(saved, (stat.st_atime, stat.st_mtime))
    year = run()
    assert_figures_equal(year, unchanged)
    record = year.manifest().loc[saved.name]
    assert record["status"] == "ingested" and record["kind"] == "workbook"
    assert f"read as an {suffix[1:].upper()}" in record["reason"]


@pytest.mark.parametrize(
    "name, advice",
    [
        ("members.numbers", "export it from Numbers as Excel"),
        ("members.pdf", "send the template as Excel"),
        ("files.7z", "send the files in it (Excel or CSV) one by one, or as a .zip"),
    ],
)
def test_a_file_that_looks_like_a_submission_but_cannot_be_read_is_set_aside_saying_what_to_send(
    tmp_path, name, advice
):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:  # Numbers and zip files are zip archives; the reader never opens it
        archive.writestr("Index/Document.iwa", b"\x00" * 64)
    (file,) = check_submission(batch_files([path]), year=YEAR).files
    assert file.status == "set_aside"
    assert advice in file.problems[0].reason


def test_a_zip_sent_to_the_check_is_checked_as_the_files_inside(tmp_path):
    path = tmp_path / "indsendelse.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Index/Document.iwa", b"\x00" * 64)  # what a Numbers file holds: not a submission
    files = {f.file: f.status for f in check_submission(batch_files([path]), year=YEAR).files}
    assert files == {"indsendelse.zip": "ignored", "indsendelse.zip/Index/Document.iwa": "ignored"}


def test_a_cluster_that_did_not_report_this_year_is_named_by_a_warning(unchanged, slipped):
    folder, run = slipped
    assert unchanged.check("every_cluster_of_last_year_reported").passed
    path = utf8_csv(folder, "*_members_*.csv")
    cluster = first_cluster_id(path)
    for sent in folder.glob(path.name.split("_members_")[0] + "_*"):
        sent.unlink()
    year = run()
    check = year.check("every_cluster_of_last_year_reported")
    assert not check.passed
    assert cluster in str(check.metadata["clusters"]) and check.metadata["cluster_ids"].value == cluster
    report = (year.output / "reports" / f"{YEAR}.html").read_text(encoding="utf-8")
    section = report[report.index("Clusters that reported last year and not this year") :]
    assert f"<td>{cluster}</td>" in section[: section.index("</table>")]


def first_cluster_id(path: Path) -> str:
    found = []
    edit_csv(path, lambda header, rows: found.append(rows[0][column(header, "cluster_id", "klynge_id")]) or rows)
    return found[0]


def test_a_mistyped_cluster_id_quarantines_only_its_rows_and_raises_no_conflict(unchanged, slipped):
    folder, run = slipped
    files = utf8_csvs(folder, "*_m*_*.csv")[:3]  # members or medlemmer

    def mistype(header, rows):
        at = column(header, "cluster_id", "klynge_id")
        for row in rows[1:3]:
            row[at] = "DK-CL-999"
        return rows

    for path in files:
        edit_csv(path, mistype)
    year = run()
    assert year.check("no_supersession_conflicts").passed
    manifest = year.manifest()
    assert set(manifest.loc[[p.name for p in files], "status"]) == {"ingested"}
    quarantine = year.table("quarantine")
    mistyped = quarantine[quarantine["reasons"].map(lambda rs: any("DK-CL-999" in r for r in rs))]
    assert len(mistyped) == 2 * len(files)
    for reasons in mistyped["reasons"]:
        (reason,) = [r for r in reasons if r.startswith("cluster_id.foreign_key")]
        assert "the rest of the file names DK-CL-" in reason and "mistyped" in reason


def test_a_cluster_id_in_lower_case_or_with_spaces_is_read_as_the_id(unchanged, slipped):
    folder, run = slipped
    path = utf8_csv(folder, "*_members_*.csv")

    def lower(header, rows):
        at = column(header, "cluster_id", "klynge_id")
        for i, row in enumerate(rows):
            row[at] = row[at].lower() if i % 2 else row[at].replace("-CL-", "-CL- ")
        return rows

    edit_csv(path, lower)
    year = run()
    assert_figures_equal(year, unchanged)
    assert "another case or stray spaces" in year.manifest().loc[path.name, "reason"]


def test_a_label_date_saved_as_an_excel_serial_is_read_as_its_date(unchanged, slipped):
    folder, run = slipped
    path = utf8_csv(folder, "*_profil*_*.csv")
    serials = []

    def as_serial(header, rows):
        at = column(header, "label_valid_until", "mærke_gyldig_til")
        for row in rows:
            if row[at]:
                written = pd.to_datetime(row[at], dayfirst="." in row[at]).date()
                row[at] = str((written - date(1899, 12, 30)).days)
                serials.append(row[at])
        return rows

    edit_csv(path, as_serial)
    assert serials, f"{path.name} has no label date to change"
    year = run()
    assert_figures_equal(year, unchanged)
    reasons = year.manifest().loc[path.name, "reason"]
    assert "Excel date serial" in reasons and "row 2" in reasons


def test_cvr_numbers_excel_turned_into_scientific_notation_are_named_as_such(slipped):
    folder, run = slipped
    path = utf8_csv(folder, "*_members_*.csv")
    changed = []

    def scientific(header, rows):
        at = column(header, "cvr", "cvr_nr")
        for number, row in enumerate(rows[:6], start=2):
            if row[at].isdigit():
                row[at] = f"{row[at][0]},{row[at][1:6]}E+07"
                changed.append(number)
        return rows

    edit_csv(path, scientific)
    year = run()
    memberships = year.table("memberships")
    edited = memberships[(memberships["source_file"] == path.name) & memberships["source_row"].isin(changed)]
    assert len(edited) == len(changed) and (edited["cvr_status"] == "scientific_notation").all()
    cluster_files = sorted(folder.glob(path.name.split("_members_")[0] + "_*"))  # the members with their profile
    (file,) = [f for f in check_submission(batch_files(cluster_files), year=YEAR).files if f.file == path.name]
    (warning,) = [w for w in file.warnings if "Excel turned the CVR column into numbers" in w]
    assert all(f"{n} (" in warning for n in changed)
    assert not any("check digit" in w and "E+07" in w for w in file.warnings)


def test_version_1_rows_carry_member_type_derived_from_committed_member(unchanged):
    memberships = unchanged.table("memberships")
    assert memberships["member_type"].notna().all()
    expected = memberships["committed_member"].map({True: "committed", False: "participant"})
    assert (memberships["member_type"] == expected).all()
