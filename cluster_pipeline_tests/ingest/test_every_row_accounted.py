"""Every row accounted for and every character as written: variants of a sample year as
secretariats really get them wrong, one change each, written by the sample's own writers.

For each variant the year goes through Dagster (ingest and contracts, as `cluster-pipeline
run` materialises them) and through the pre-submission check, and three things hold:
every data row of every file is published, quarantined with its reason, or in a file a
genuine later version replaced; the check gives the same statuses and counts as the run;
and the case's own behaviour."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from cluster_pipeline.definitions import ASSETS
from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.defs.resources import OutputFolder, resources_from_env
from cluster_pipeline.lib.contracts.pre_submission import batch_files, check_submission
from cluster_pipeline.lib.ingest.landing import discover, read_tables
from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline.sample_data import files as sample_files
from cluster_pipeline.sample_data.generate import generate

YEAR = 2016
MANIFEST_STATUS = {"quarantined": "set_aside", "ignored": "ignored", "superseded": "superseded"}
INTAKE = dg.AssetSelection.groups("ingest", "contracts")


@pytest.fixture(scope="module")
def sample_year(tmp_path_factory) -> Path:
    """A small sample year (47 clusters in every dialect), generated once for every variant."""
    landing = tmp_path_factory.mktemp("base") / "landing"
    generate(landing, [YEAR], scale=0.05, seed=21)
    return landing


@pytest.fixture
def variant(sample_year, tmp_path) -> Path:
    """A copy of the sample year's folder for one change; returns the year folder."""
    shutil.copytree(sample_year / str(YEAR), tmp_path / "landing" / str(YEAR))
    shutil.copytree(sample_year / "_truth", tmp_path / "landing" / "_truth")
    return tmp_path / "landing" / str(YEAR)


def run_year(folder: Path, selection=INTAKE) -> Path:
    """The year through Dagster; returns the output folder."""
    output = folder.parent.parent / "published"
    with dg.instance_for_test() as instance:
        add_partitions(instance, [YEAR])
        result = dg.materialize(
            ASSETS,
            partition_key=str(YEAR),
            instance=instance,
            selection=selection,
            resources=resources_from_env(str(folder.parent), str(output), register=str(folder / "no_register")),
            raise_on_error=False,
        )
    assert result.success
    run_year.checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    return output


def accepted(output: Path, kind: str) -> pd.DataFrame:
    """The year's accepted rows (an intermediate table)."""
    return OutputFolder(path=str(output)).read(f"accepted_{kind}", YEAR)


def members_file(folder: Path, cluster: str, container: str = "csv") -> Path:
    """The file that holds a cluster's members rows in the sample year."""
    for file in discover(folder):
        if file.suffix != f".{container}":
            continue
        try:
            tables = read_tables(file)
        except Exception:
            continue
        for table in tables:
            if table.rows and len(table.rows[0]) > 8 and table.rows[0][0] == cluster:
                return file.path
    raise LookupError(cluster)


def dialect_of(path: Path) -> sample_files.Dialect:
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        encoding = "cp1252"
    first = raw.split(b"\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=lambda d: first.count(d.encode()))
    return sample_files.Dialect("csv", False, delimiter, encoding)


def values_of(path: Path) -> list[list[str]]:
    (table,) = read_tables(next(f for f in discover(path.parent) if f.path == path))
    return [table.header, *table.rows]


def write_like(path: Path, values: list[list[str]], like: Path, mtime_after: Path | None = None) -> Path:
    """Rows written with the sample's CSV writer in the dialect of another sample file."""
    sample_files.write_csv(path, values, dialect_of(like))
    if mtime_after is not None:
        later = mtime_after.stat().st_mtime + 3600
        os.utime(path, (later, later))
    return path


def data_rows(folder: Path) -> dict[str, int]:
    """Data rows per submission file, counted from the files (visible sheets: hidden ones are not data)."""
    counts = {}
    for file in discover(folder):
        if not file.is_submission:
            continue
        try:
            counts[file.name] = sum(len(t.rows) for t in read_tables(file))
        except Exception:
            counts[file.name] = None  # unreadable: set aside whole
    return counts


def assert_every_row_accounted(folder: Path, output: Path) -> pd.DataFrame:
    manifest = read_partition(output, "ingest_manifest", YEAR).set_index("source_file")
    quarantine = read_partition(output, "quarantine", YEAR)
    published = pd.concat([accepted(output, "members"), accepted(output, "profiles")])["source_file"].value_counts()
    quarantined = quarantine[quarantine["level"] == "row"]["source_file"].value_counts()
    set_aside = set(quarantine.loc[quarantine["level"] == "file", "source_file"])
    for name, rows in data_rows(folder).items():
        status = manifest.loc[name, "status"]
        if status == "quarantined":
            assert name in set_aside, name
        elif status == "superseded":
            assert "superseded by" in manifest.loc[name, "reason"], name
        else:
            assert rows == published.get(name, 0) + quarantined.get(name, 0), name
    return manifest


def assert_check_predicts_run(folder: Path, output: Path):
    manifest = read_partition(output, "ingest_manifest", YEAR).set_index("source_file")
    check = check_submission(batch_files(sorted(p for p in folder.iterdir() if p.is_file())), YEAR)
    for file in check.files:
        entry = manifest.loc[file.file]
        status = MANIFEST_STATUS.get(entry["status"]) or (
            "rows_quarantined" if entry["rows_quarantined"] else "accepted"
        )
        found = (file.status, file.rows_read, file.rows_accepted, file.rows_quarantined)
        assert found == (status, entry["rows_read"], entry["rows_accepted"], entry["rows_quarantined"]), file.file
    return check


def good_company_row(folder: Path, path: Path) -> int:
    """A row of the file (its position in values_of) that the sample's truth holds as a good company row."""
    truth = pd.read_csv(folder.parent / "_truth" / f"{YEAR}_rows.csv")
    mine = truth[(truth["source_file"] == path.name) & truth["entity"].str.startswith("C")]
    return int(mine["source_row"].min()) - 1


def check_of(check, name):
    return next(f for f in check.files if f.file == name)


# --- the sample as it is ---------------------------------------------------------------


def test_every_row_of_the_unchanged_sample_year_is_accounted_for_and_the_check_predicts_the_run(variant):
    output = run_year(variant)
    assert_every_row_accounted(variant, output)
    assert_check_predicts_run(variant, output)


def test_every_quarantine_record_is_strict_json(five_years):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    for run in five_years.values():
        records = read_partition(run.output, "quarantine", run.year)["record"].dropna()
        assert len(records) > 10
        for record in records:
            assert isinstance(json.loads(record, parse_constant=refuse), dict)


# --- supersession -------------------------------------------------------------------------


def test_a_file_naming_another_cluster_does_not_replace_that_clusters_list(variant):
    own = members_file(variant, "DK-CL-011")
    values = values_of(members_file(variant, "DK-CL-010"))
    slip = write_like(
        variant / "kopi_medlemmer.csv", [values[0]] + [["DK-CL-011", *r[1:]] for r in values[1:]], own, own
    )
    output = run_year(variant)
    manifest = assert_every_row_accounted(variant, output)
    assert manifest.loc[own.name, "status"] != "superseded"
    assert slip.name in manifest.loc[own.name, "reason"] and own.name in manifest.loc[slip.name, "reason"]
    assert not run_year.checks["no_supersession_conflicts"].passed
    check = assert_check_predicts_run(variant, output)
    assert any("conflict" in p.reason for p in check_of(check, own.name).problems)


def test_a_genuine_later_version_still_replaces_the_earlier_one(variant):
    own = members_file(variant, "DK-CL-011")
    values = values_of(own)
    write_like(variant / "endelig_liste.csv", values[:-1], own, own)  # one organisation left
    output = run_year(variant)
    manifest = assert_every_row_accounted(variant, output)
    assert manifest.loc[own.name, "status"] == "superseded"
    assert run_year.checks["no_supersession_conflicts"].passed
    assert_check_predicts_run(variant, output)


def test_a_tie_prefers_the_longer_list_and_is_reported_by_name(variant):
    own = members_file(variant, "DK-CL-011")
    values = values_of(own)
    draft = write_like(variant / "zz_udkast.csv", values[: len(values) // 2 + 1], own)
    os.utime(draft, (own.stat().st_mtime, own.stat().st_mtime))
    output = run_year(variant)
    manifest = assert_every_row_accounted(variant, output)
    assert manifest.loc[draft.name, "status"] == "superseded" and manifest.loc[own.name, "status"] == "ingested"
    assert "more rows" in manifest.loc[draft.name, "reason"]
    tie = run_year.checks["no_supersession_ties"]
    assert not tie.passed and draft.name in tie.metadata["files"].value
    assert_check_predicts_run(variant, output)


# --- workbooks ----------------------------------------------------------------------------


def workbook_sheets(path: Path) -> dict[str, list[list]]:
    return {
        t.source_sheet: [t.header, *t.rows]
        for t in read_tables(next(f for f in discover(path.parent) if f.path == path))
    }


def test_a_hidden_sheet_is_listed_as_ignored_and_never_read(variant):
    workbook = members_file(variant, "DK-CL-008", "xlsx")
    sheets = workbook_sheets(workbook)
    members = next(name for name in sheets if name.lower() in ("members", "medlemmer"))
    old = [sheets[members][0], *sheets[members][1:6]]
    sample_files.write_xlsx(workbook, {**sheets, "members_2015": old}, hidden={"members_2015"})
    output = run_year(variant)
    manifest = assert_every_row_accounted(variant, output)
    assert manifest.loc[workbook.name, "status"] == "ingested"
    assert "sheet 'members_2015' is hidden: ignored" in manifest.loc[workbook.name, "reason"]
    rows = accepted(output, "members")
    assert set(rows.loc[rows["source_file"] == workbook.name, "source_sheet"]) == {members}
    check = assert_check_predicts_run(variant, output)
    assert check_of(check, workbook.name).status in ("accepted", "rows_quarantined")


def test_two_visible_sheets_of_one_kind_in_a_workbook_are_a_conflict(variant):
    workbook = members_file(variant, "DK-CL-008", "xlsx")
    sheets = workbook_sheets(workbook)
    members = next(name for name in sheets if name.lower() in ("members", "medlemmer"))
    sample_files.write_xlsx(workbook, {**sheets, "members_2015": [sheets[members][0], *sheets[members][1:6]]})
    output = run_year(variant)
    manifest = assert_every_row_accounted(variant, output)
    assert "superseded by itself" not in (manifest.loc[workbook.name, "reason"] or "")
    assert "conflict" in manifest.loc[workbook.name, "reason"]
    assert_check_predicts_run(variant, output)


# --- encodings ----------------------------------------------------------------------------


def test_one_windows_1252_byte_in_a_utf8_file_quarantines_only_its_row(variant):
    path = members_file(variant, "DK-CL-013")  # Danish upper-case headers, UTF-8 with a BOM, ';'
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "ø".encode() in raw
    lines = raw.split(b"\r\n")
    line = next(i for i, text in enumerate(lines) if i > 1 and "ø".encode() in text)
    lines[line] = lines[line].replace("ø".encode(), b"\xf8", 1)
    path.write_bytes(b"\r\n".join(lines))
    output = run_year(variant)
    manifest = assert_every_row_accounted(variant, output)
    assert manifest.loc[path.name, "status"] == "ingested"
    quarantine = read_partition(output, "quarantine", YEAR)
    mine = quarantine[(quarantine["source_file"] == path.name) & (quarantine["source_row"] == line + 1)]
    (reason,) = mine["reasons"].iloc[0]
    assert reason.startswith("row.encoding:") and f"line {line + 1}" in reason and "byte offset" in reason
    names = accepted(output, "members")
    names = names.loc[names["source_file"] == path.name, "name"]
    assert names.str.contains("ø|æ|å").any() and not names.str.contains("Ã").any()
    assert_check_predicts_run(variant, output)


def test_double_encoded_text_is_a_warning(variant):
    path = members_file(variant, "DK-CL-010")  # English headers, UTF-8
    values = values_of(path)
    values[good_company_row(variant, path)][values[0].index("name")] = "MÃ¸lledata ApS"
    write_like(path, values, path)
    output = run_year(variant)
    manifest = assert_every_row_accounted(variant, output)
    assert "double-encoded" in manifest.loc[path.name, "reason"]
    check = assert_check_predicts_run(variant, output)
    assert any("double-encoded" in w for w in check_of(check, path.name).warnings)


# --- profiles -----------------------------------------------------------------------------


def profile_file(folder: Path, cluster: str) -> Path:
    for file in discover(folder):
        if file.suffix == ".csv":
            (table,) = read_tables(file)
            if table.rows and len(table.rows[0]) <= 8 and table.rows[0][0] == cluster:
                return file.path
    raise LookupError(cluster)


def test_an_identical_duplicate_profile_row_counts_once(variant):
    path = profile_file(variant, "DK-CL-011")
    values = values_of(path)
    write_like(path, [*values, values[1]], path)
    output = run_year(variant)
    assert_every_row_accounted(variant, output)
    profiles = accepted(output, "profiles")
    assert (profiles["cluster_id"] == "DK-CL-011").sum() == 1
    assert_check_predicts_run(variant, output)


def test_conflicting_profile_rows_are_quarantined_together_naming_both(variant):
    path = profile_file(variant, "DK-CL-011")
    values = values_of(path)
    other = list(values[1])
    label = values[0].index(next(h for h in values[0] if h.lower() in ("label", "mærke", "maerke")))
    other[label] = "none" if values[1][label].lower() not in ("none", "ingen") else "gold"
    write_like(path, [*values, other], path)
    output = run_year(variant)
    assert_every_row_accounted(variant, output)
    assert "DK-CL-011" not in set(accepted(output, "profiles")["cluster_id"])
    quarantine = read_partition(output, "quarantine", YEAR)
    mine = quarantine[quarantine["source_file"] == path.name]
    assert mine["source_row"].tolist() == [2, 3]
    assert all("rows 2 and 3" in reasons[0] and "profile.conflict" in reasons[0] for reasons in mine["reasons"])
    assert not run_year.checks["one_profile_per_cluster"].passed
    assert_check_predicts_run(variant, output)


# --- reasons ------------------------------------------------------------------------------


def test_an_unquoted_delimiter_is_named_as_the_cause(variant):
    path = members_file(variant, "DK-CL-010")
    values = values_of(path)
    name, at = values[0].index("name"), good_company_row(variant, path)
    values[at] = [*values[at][:name], "Mølle", " Hansen ApS", *values[at][name + 1 :]]
    write_like(path, values, path)
    output = run_year(variant)
    assert_every_row_accounted(variant, output)
    quarantine = read_partition(output, "quarantine", YEAR)
    mine = quarantine[(quarantine["source_file"] == path.name) & (quarantine["source_row"] == at + 1)]
    (reasons,) = mine["reasons"]
    assert len(reasons) == 1 and reasons[0].startswith("row.shape") and "unquoted delimiter" in reasons[0]


def test_a_cvr_with_thousands_separators_is_read_and_the_check_says_so(variant):
    path = members_file(variant, "DK-CL-010")
    values = values_of(path)
    cvr = values[0].index("cvr")
    row = values[good_company_row(variant, path)]
    row[cvr] = "12345674"  # a valid CVR number
    row[cvr] = f"{row[cvr][:2]},{row[cvr][2:5]},{row[cvr][5:]}"
    write_like(path, values, path)
    output = run_year(variant)
    rows = accepted(output, "members")
    written = rows[rows["cvr_raw"] == row[cvr]]
    assert written["cvr_status"].tolist() == ["valid"] and written["cvr"].tolist() == [row[cvr].replace(",", "")]
    check = assert_check_predicts_run(variant, output)
    assert any("thousands separators" in w for w in check_of(check, path.name).warnings)


def test_a_first_year_cluster_far_larger_than_any_other_fails_a_warning_check(variant):
    values = values_of(members_file(variant, "DK-CL-010"))
    profile = values_of(profile_file(variant, "DK-CL-010"))
    big = [["DK-CL-950", *r[1:]] for r in values[1:]] * 40
    write_like(variant / "ny_klynge_medlemmer.csv", [values[0], *big], members_file(variant, "DK-CL-010"))
    write_like(
        variant / "ny_klynge_profil.csv",
        [profile[0], ["DK-CL-950", *profile[1][1:]]],
        members_file(variant, "DK-CL-010"),
    )
    run_year(variant)
    size = run_year.checks["first_year_cluster_sizes_plausible"]
    assert not size.passed and "DK-CL-950" in size.metadata["clusters"].value


# --- exports ------------------------------------------------------------------------------


def test_explain_csv_neutralises_formula_text_and_the_tables_keep_it(variant, capsys):
    from cluster_pipeline.cli import main

    path = members_file(variant, "DK-CL-010")
    values = values_of(path)
    name, cvr, at = values[0].index("name"), values[0].index("cvr"), good_company_row(variant, path)
    values[at][name], values[at][cvr] = '=HYPERLINK("http://x","y")', "12345674"
    write_like(path, values, path)
    output = run_year(variant, selection=dg.AssetSelection.all())
    companies = read_partition(output, "companies", YEAR)
    assert '=HYPERLINK("http://x","y")' in set(companies["name"])
    assert main(["explain", "--output", str(output), "--company", "CVR12345674", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and '"=HYPERLINK' not in text


def test_the_run_and_the_report_name_the_conflict_and_the_tie(variant, capsys):
    from cluster_pipeline.cli import main

    own = members_file(variant, "DK-CL-011")
    slip = write_like(
        variant / "kopi_medlemmer.csv",
        [values_of(own)[0]] + [["DK-CL-011", *r[1:]] for r in values_of(members_file(variant, "DK-CL-010"))[1:]],
        own,
        own,
    )
    tied = members_file(variant, "DK-CL-013")
    draft = write_like(variant / "zz_udkast.csv", values_of(tied)[:4], tied)
    os.utime(draft, (tied.stat().st_mtime, tied.stat().st_mtime))
    output = variant.parent.parent / "published"
    args = ["run", "--landing", str(variant.parent), "--output", str(output), "--years", str(YEAR)]
    assert main([*args, "--register", str(variant / "no_register")]) == 0
    text = capsys.readouterr().out
    conflict_lines = [line for line in text.splitlines() if line.strip().startswith("conflict:")]
    assert any(slip.name in line and own.name in line for line in conflict_lines)
    assert any(line.strip().startswith(f"tie: {draft.name}") and tied.name in line for line in text.splitlines())
    assert "no_supersession_conflicts (warn)" in text and "no_supersession_ties (warn)" in text
    report = (output / "reports" / f"{YEAR}.html").read_text(encoding="utf-8")
    quality = report[report.index('id="quality"') : report.index('id="impact"')]
    assert slip.name in quality and own.name in quality and draft.name in quality
