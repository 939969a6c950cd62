"""The full sample year (scale 1), materialised through Dagster, against its truth."""

from collections import Counter

import dagster as dg
import pyarrow.parquet as pq

from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline_tests.runs import materialise


def quarantine(run, level):
    q = read_partition(run.output, "quarantine", run.year)
    return q[q["level"] == level]


def test_every_planted_bad_row_is_quarantined_with_exactly_its_rules(sample_run):
    rows = quarantine(sample_run, "row")
    found = {
        (r.source_file, r.source_sheet if isinstance(r.source_sheet, str) else None, int(r.source_row)): sorted(
            x.split(":")[0] for x in r.reasons
        )
        for r in rows.itertuples()
    }
    planted = {
        (b["source_file"], b["source_sheet"], b["source_row"]): sorted(b["rules"]) for b in sample_run.truth["bad_rows"]
    }
    assert len(planted) >= 17
    assert found == planted  # every planted row, with its rules, and no good row


def test_every_planted_bad_file_is_quarantined_with_its_reason(sample_run):
    files = {r.source_file: " ".join(r.reasons) for r in quarantine(sample_run, "file").itertuples()}
    assert set(files) == {b["source_file"] for b in sample_run.truth["bad_files"]}
    for bad in sample_run.truth["bad_files"]:
        assert bad["reason"] in files[bad["source_file"]]


def test_every_good_members_row_is_accepted(sample_run):
    accepted = read_partition(sample_run.output / "_work", "accepted_members", sample_run.year)
    assert len(accepted) == sample_run.truth["member_rows"]


def test_manifest_records_ignored_and_superseded_files(sample_run):
    manifest = read_partition(sample_run.output, "ingest_manifest", sample_run.year).set_index("source_file")
    for name in sample_run.truth["ignored_files"]:
        assert manifest.at[name, "status"] == "ignored"
    for name in sample_run.truth["superseded_files"]:
        assert manifest.at[name, "status"] == "superseded" and "superseded by" in manifest.at[name, "reason"]
    assert Counter(manifest["kind"]) >= Counter({"workbook": 1, "members": 1, "profile": 1})


def test_accounting_check_passes_and_holds_for_every_ingested_file(sample_run):
    (check,) = [c for c in sample_run.outcome.checks if c.check_name == "rows_accounted_for"]
    assert check.passed
    manifest = read_partition(sample_run.output, "ingest_manifest", sample_run.year)
    ingested = manifest[manifest["status"] == "ingested"]
    assert (ingested["rows_read"] == ingested["rows_accepted"] + ingested["rows_quarantined"]).all()


def test_personal_data_columns_reach_no_published_file(sample_run):
    for path in sample_run.output.rglob("*.parquet"):
        table = pq.read_table(path)
        assert not {"contact_email", "kontakt_email"} & set(table.column_names), path
        for column in table.columns:
            if column.type == "string":
                assert not any("@example.dk" in v for v in column.to_pylist() if v), (path, column)


def test_published_tables_carry_column_descriptions(sample_run):
    for table in ("ingest_manifest", "quarantine"):
        schema = pq.read_schema(sample_run.output / table / f"year={sample_run.year}" / "data.parquet")
        assert all(field.metadata and field.metadata.get(b"description") for field in schema)


def test_materialising_a_year_without_landing_folder_fails_naming_the_folder(sample_run, tmp_path):
    with dg.instance_for_test() as instance:
        result = materialise(sample_run.landing, tmp_path, 2019, instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert str(sample_run.landing / "2019") in str(failure.event_specific_data.error)


def test_an_empty_landing_folder_publishes_empty_tables(tmp_path):
    (tmp_path / "landing" / "2016").mkdir(parents=True)
    with dg.instance_for_test() as instance:
        result = materialise(tmp_path / "landing", tmp_path / "published", 2016, instance)
    assert result.success
    assert read_partition(tmp_path / "published", "companies", 2016).empty
    indicators = read_partition(tmp_path / "published", "indicator_status", 2016)
    assert len(indicators) == 6 and set(indicators["status"]) == {"not_met"}
