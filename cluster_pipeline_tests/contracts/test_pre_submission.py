"""The pre-submission check: a cluster's files through the pipeline's own intake and
contracts, nothing published, with the verdicts a run would reach."""

from __future__ import annotations

import json

import pandas as pd

from cluster_pipeline.cli import main
from cluster_pipeline.lib.contracts.pre_submission import batch_files, check_submission
from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline_tests.files import MEMBERS_HEADER, MEMBERS_HEADER_DA, PROFILE_HEADER, member, profile, write_csv

MANIFEST_STATUS = {"quarantined": "set_aside", "ignored": "ignored", "superseded": "superseded"}


def test_check_of_a_sample_year_reports_the_statuses_and_counts_of_the_published_manifest(sample_run):
    year_dir = sample_run.landing / str(sample_run.year)
    found = check_submission(batch_files(sorted(p for p in year_dir.iterdir() if p.is_file())))
    manifest = read_partition(sample_run.output, "ingest_manifest", sample_run.year).set_index("source_file")

    assert found.year == sample_run.year and found.year_source == "files"
    assert sorted(f.file for f in found.files) == sorted(manifest.index)
    for file in found.files:
        entry = manifest.loc[file.file]
        status = MANIFEST_STATUS.get(entry["status"]) or (
            "rows_quarantined" if entry["rows_quarantined"] else "accepted"
        )
        assert (file.status, file.rows_read, file.rows_accepted, file.rows_quarantined) == (
            status,
            entry["rows_read"],
            entry["rows_accepted"],
            entry["rows_quarantined"],
        ), file.file
    assert {f.status for f in found.files} == {"accepted", "rows_quarantined", "set_aside", "ignored", "superseded"}


def test_check_of_a_sample_year_gives_the_reasons_of_the_published_quarantine(sample_run):
    year_dir = sample_run.landing / str(sample_run.year)
    found = check_submission(batch_files(sorted(p for p in year_dir.iterdir() if p.is_file())))
    quarantine = read_partition(sample_run.output, "quarantine", sample_run.year)

    published = sorted(
        (
            q.source_file,
            q.source_sheet if isinstance(q.source_sheet, str) else None,
            None if pd.isna(q.source_row) else int(q.source_row),
            reason,
        )
        for q in quarantine.itertuples()
        for reason in q.reasons
    )
    checked = sorted((f.file, p.sheet, p.row, p.reason) for f in found.files for p in f.problems)
    assert checked == published and len(checked) > 20


def test_a_members_file_without_its_profile_is_reported_with_the_cross_file_rule(tmp_path):
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member(), member(name="Havtek ApS")])

    (file,) = check_submission(batch_files([members])).files

    assert file.status == "rows_quarantined" and file.rows_quarantined == 2
    assert all(p.column == "cluster_id" and p.reason.startswith("cluster_id.foreign_key:") for p in file.problems)
    assert any(
        "the profile of DK-CL-001 is not among the files" in w and "send the profile with the members file" in w
        for w in file.warnings
    )
    assert len(file.grouped_problems) == 1 and len(file.grouped_problems[0].rows) == 2  # one line for both rows


def test_problems_name_the_row_and_column_of_a_broken_cell(tmp_path):
    profiles = write_csv(tmp_path / "profile.csv", [PROFILE_HEADER, profile()])
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member(), member(postal="80O0")])

    checked = {f.file: f for f in check_submission(batch_files([profiles, members])).files}

    (problem,) = checked["members.csv"].problems
    assert (problem.sheet, problem.row, problem.column) == (None, 3, "postal_code")
    assert problem.reason.startswith("postal_code.") and "(got '80O0')" in problem.reason


def _exit_code(capsys, *args) -> tuple[int, str]:
    code = main(["check", *map(str, args)])
    return code, capsys.readouterr().out


def test_exit_code_is_0_when_every_file_would_be_accepted_whole(tmp_path, capsys):
    profiles = write_csv(tmp_path / "profile.csv", [PROFILE_HEADER, profile()])
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member()])
    assert _exit_code(capsys, profiles, members)[0] == 0


def test_exit_code_is_1_when_rows_would_be_quarantined(tmp_path, capsys):
    profiles = write_csv(tmp_path / "profile.csv", [PROFILE_HEADER, profile()])
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member(), member(flags=("måske",) * 5)])
    assert _exit_code(capsys, profiles, members)[0] == 1


def test_exit_code_is_2_when_a_file_would_be_set_aside(tmp_path, capsys):
    profiles = write_csv(tmp_path / "profile.csv", [PROFILE_HEADER, profile()])
    headless = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER[:4], member()[:4]])
    code, out = _exit_code(capsys, profiles, headless)
    assert code == 2 and "the whole file would be set aside" in out and "missing required column(s)" in out


def test_text_output_shows_how_danish_headers_were_mapped_and_which_columns_are_ignored(tmp_path, capsys):
    profiles = write_csv(tmp_path / "profil.csv", [PROFILE_HEADER, profile()])
    members = write_csv(
        tmp_path / "medlemmer.csv",
        [MEMBERS_HEADER_DA + ["noter"], member() + ["ring tirsdag"]],
        delimiter=";",
        encoding="cp1252",
    )
    out = _exit_code(capsys, profiles, members)[1]
    assert "'postnr' -> postal_code" in out and "'noter' -> ignored" in out
    assert "column 'noter' is not in the template: it will be ignored" in out
    assert "medlemmer.csv: members" in out and "verdict: would be accepted whole (1 row)" in out


def test_json_output_holds_one_object_per_file_with_its_problems(tmp_path, capsys):
    profiles = write_csv(tmp_path / "profile.csv", [PROFILE_HEADER, profile()])
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member(), member(employees="mange")])
    code, out = _exit_code(capsys, "--format", "json", profiles, members)
    found = {f["file"]: f for f in json.loads(out)}
    assert code == 1 and set(found) == {"profile.csv", "members.csv"}
    assert {
        k: found["members.csv"][k] for k in ("status", "kind", "rows_read", "rows_accepted", "rows_quarantined")
    } == {"status": "rows_quarantined", "kind": "members", "rows_read": 2, "rows_accepted": 1, "rows_quarantined": 1}
    (problem,) = found["members.csv"]["problems"]
    assert (problem["sheet"], problem["row"], problem["column"]) == (None, 3, "employees")
    assert set(found["members.csv"]) >= {
        "file",
        "status",
        "kind",
        "rows_read",
        "rows_accepted",
        "rows_quarantined",
        "problems",
        "warnings",
    }


def test_the_reporting_year_comes_from_the_files_unless_given(tmp_path):
    profiles = write_csv(tmp_path / "profile.csv", [PROFILE_HEADER, profile(year="2017")])
    assert check_submission(batch_files([profiles])).year == 2017

    (file,) = check_submission(batch_files([profiles]), year=2018).files
    assert file.status == "rows_quarantined" and file.problems[0].column == "reporting_year"


def test_files_of_the_same_name_in_different_folders_are_told_apart(tmp_path):
    first = write_csv(tmp_path / "a" / "profile.csv", [PROFILE_HEADER, profile()])
    second = write_csv(tmp_path / "b" / "profile.csv", [PROFILE_HEADER, profile(cluster="DK-CL-002")])
    names = [f.file for f in check_submission(batch_files([first, second])).files]
    assert names == [str(first), str(second)]


def test_a_cvr_failing_the_check_digit_is_a_warning_naming_its_row_not_a_problem(tmp_path):
    profiles = write_csv(tmp_path / "profile.csv", [PROFILE_HEADER, profile()])
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member(cvr="12345674"), member(cvr="12345678")])

    checked = {f.file: f for f in check_submission(batch_files([profiles, members])).files}["members.csv"]

    assert checked.status == "accepted" and not checked.problems
    assert [w for w in checked.warnings if w.startswith("column cvr:")] == [
        "column cvr: 1 CVR number fails the check digit, in row 3 ('12345678'): the row counts, but its "
        "company is matched by name and address instead"
    ]


def test_text_output_gives_rows_with_the_very_same_problem_one_line(tmp_path, capsys):
    members = write_csv(
        tmp_path / "members.csv",
        [MEMBERS_HEADER, *(member(name=f"Firma {i}") for i in range(3)), member(postal="80O0")],
    )
    out = _exit_code(capsys, members)[1]
    assert (
        "problem: rows 2-5 (4 rows), column cluster_id: cluster_id.foreign_key: cluster_id must have its profile "
        "accepted in the same year: send the profile with this file (got 'DK-CL-001')"
    ) in out
    assert "problem: row 5, column postal_code: postal_code." in out and out.count("problem:") == 2


def test_a_members_file_in_an_old_layout_is_labelled_members_and_its_reason_said_once(tmp_path, capsys):
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member(year="2018")])
    (file,) = check_submission(batch_files([members]), year=2018).files
    assert file.status == "set_aside" and file.kind == "members"
    out = _exit_code(capsys, members, "--year", "2018")[1]
    assert out.count("follows template version 1") == 1


def test_a_pattern_rule_reads_in_words_not_as_a_regular_expression(tmp_path):
    members = write_csv(tmp_path / "members.csv", [MEMBERS_HEADER, member(cluster="DK-CL-9")])
    (file,) = check_submission(batch_files([members]), year=2016).files
    (reason,) = [p.reason for p in file.problems if p.reason.startswith("cluster_id.pattern")]
    assert "DK-CL- and three digits" in reason and "^" not in reason and "\\d" not in reason
