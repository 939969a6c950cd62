"""The firm register extract as an input: every row accepted or quarantined with every reason,
file and row named, and never a firm's value in a reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cluster_pipeline.defs.resources import resources_from_env
from cluster_pipeline.lib import tables
from cluster_pipeline.lib.impact import register as register_module
from cluster_pipeline.lib.impact.register import ValidatedFiles, read_register, read_register_file, validate_register
from cluster_pipeline.lib.publish.parquet_store import read_table
from cluster_pipeline.sample_data.register import load_register_truth
from cluster_pipeline_tests.files import cluster_batch
from cluster_pipeline_tests.runs import run_in_order

HEADER = "CVRNR;AAR;BRANCHE_DB07;KOM;STIFTELSESAAR;AARSVAERK;VAERDITILVAEKST;OMSAETNING;INNO_STIKPROEVE;INNOVATIV;VAEGT"


def register_file(folder: Path, year: int, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"firms_{year}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8-sig")
    return path


def test_the_planted_bad_register_rows_are_quarantined_exactly(sample_run):
    truth = load_register_truth(sample_run.landing)
    quarantine = read_table(sample_run.output, "register_quarantine")
    found = {
        (r.source_file, int(r.source_row)): sorted(reason.split(":", 1)[0] for reason in r.reasons)
        for r in quarantine.itertuples()
    }
    assert found == {(r["source_file"], r["source_row"]): sorted(r["rules"]) for r in truth["bad_rows"]}


def test_every_register_row_is_accepted_or_quarantined(sample_run):
    manifest = read_table(sample_run.output, "register_manifest")
    ingested = manifest[manifest["status"] == "ingested"]
    assert (ingested["rows_read"] == ingested["rows_accepted"] + ingested["rows_quarantined"]).all()
    assert int(ingested["rows_read"].sum()) == load_register_truth(sample_run.landing)["rows"]
    assert manifest.loc[manifest["status"] == "ignored", "source_file"].tolist() == ["LAESMIG.txt"]


def test_a_reason_names_the_rule_never_the_value(sample_run):
    reasons = [
        reason for reasons in read_table(sample_run.output, "register_quarantine")["reasons"] for reason in reasons
    ]
    assert reasons and not any("got" in reason for reason in reasons)


def test_a_cvr_listed_twice_in_one_year_quarantines_both_rows(tmp_path):
    path = register_file(
        tmp_path,
        2016,
        [
            "12345674;2016;620100;101;2001;12,5;5400;16000;0;;",
            "12345674;2016;620100;101;2001;3,0;900;2000;0;;",
            "11111114;2016;620100;101;2001;3,0;900;2000;1;1;12,5",
        ],
    )
    manifest, quarantine, firms = validate_register([read_register_file(path, 2016)])[path.name]
    assert quarantine["source_row"].tolist() == [2, 3]
    assert all(
        reasons == ["cvr.unique: cvr appears in more than one row of the file (every such row is ambiguous)"]
        for reasons in quarantine["reasons"]
    )
    assert firms["cvr"].tolist() == ["11111114"] and firms["fte"].tolist() == [3.0]
    assert (manifest["rows_read"], manifest["rows_accepted"], manifest["rows_quarantined"]) == (3, 1, 2)


def test_a_register_file_without_a_required_column_is_set_aside_whole(tmp_path):
    path = tmp_path / "firms_2016.csv"
    path.write_text("CVRNR;AAR\n12345674;2016\n", encoding="utf-8")
    extract = read_register(tmp_path)
    assert extract.manifest["status"].tolist() == ["quarantined"]
    assert "missing required column" in extract.manifest["reason"].iat[0]
    assert extract.quarantine["level"].tolist() == ["file"]


ROWS_2016 = [
    "12345674;2016;620100;101;2001;12,5;5400;16000;0;;",
    "12345674;2016;620100;101;2001;3,0;900;2000;0;;",
    "11111114;2016;620100;101;2001;3,0;900;2000;1;1;12,5",
]


def extracts_equal(a, b) -> None:
    for name in ("manifest", "quarantine", "firms"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_an_unchanged_register_file_is_not_validated_again(tmp_path, monkeypatch):
    register_file(tmp_path / "register", 2016, ROWS_2016)
    register_file(tmp_path / "register", 2017, [r.replace("2016", "2017") for r in ROWS_2016[2:]])
    from_scratch = read_register(tmp_path / "register")
    read_register(tmp_path / "register", ValidatedFiles(tmp_path / "validated"))

    def fail(*_):
        raise AssertionError("validated again")

    monkeypatch.setattr(register_module, "validate_register", fail)
    extracts_equal(read_register(tmp_path / "register", ValidatedFiles(tmp_path / "validated")), from_scratch)


def test_a_changed_byte_in_a_register_file_is_validated_again(tmp_path):
    path = register_file(tmp_path / "register", 2016, ROWS_2016)
    read_register(tmp_path / "register", ValidatedFiles(tmp_path / "validated"))
    path.write_text(path.read_text(encoding="utf-8-sig").replace("11111114", "1111111X"), encoding="utf-8-sig")
    extract = read_register(tmp_path / "register", ValidatedFiles(tmp_path / "validated"))
    assert extract.quarantine["source_row"].tolist() == [2, 3, 4] and extract.firms.empty
    assert len(list((tmp_path / "validated").iterdir())) == 1  # the old file's entry is gone


def test_another_validator_validates_every_register_file_again(tmp_path, monkeypatch):
    register_file(tmp_path / "register", 2016, ROWS_2016)
    read_register(tmp_path / "register", ValidatedFiles(tmp_path / "validated"))
    calls = []
    monkeypatch.setattr(register_module, "validator_fingerprint", lambda: "a changed rule")
    monkeypatch.setattr(
        register_module, "validate_register", lambda files: calls.extend(files) or validate_register(files)
    )
    read_register(tmp_path / "register", ValidatedFiles(tmp_path / "validated"))
    assert len(calls) == 1


def test_without_a_register_folder_the_measurement_is_skipped_and_nothing_else_changes(tmp_path):
    import dagster as dg

    landing, output = tmp_path / "landing", tmp_path / "published"
    cluster_batch(landing / "2016", 0)
    with dg.instance_for_test() as instance:
        outcome = run_in_order(landing, output, [2016], instance, register=tmp_path / "nowhere")
    assert outcome.years[2016].success and outcome.impact_skipped and not outcome.impact_errors
    assert read_table(output, "impact_estimates") is None and read_table(output, "register_manifest") is None
    assert (output / "companies" / "year=2016" / "data.parquet").exists()
    assert "the impact measurement is not shown" in (output / "reports" / "2016.html").read_text(encoding="utf-8")
    assert resources_from_env(register=str(tmp_path / "nowhere"))["register"].root == tmp_path / "nowhere"


def test_a_register_without_innovation_survey_answers_still_measures_growth(sample_run):
    from cluster_pipeline.lib.impact.measurement import measure_impact
    from cluster_pipeline.lib.publish.parquet_store import read_partition

    firms = read_table(sample_run.output / "_work", "register_firms")
    firms = firms.assign(innovation_sampled=0, innovator=pd.NA, survey_weight=float("nan"))
    companies = {y: read_partition(sample_run.output, "companies", y) for y in range(2014, 2019)}
    estimates = measure_impact(firms, companies).tables["impact_estimates"]
    innovation = estimates[estimates["outcome"] == "innovation"]
    assert innovation["suppressed"].all() and innovation["estimate"].isna().all()
    growth = estimates[estimates["outcome"] == "productivity_growth"]
    assert not growth["suppressed"].any() and growth["estimate"].notna().all()


@pytest.mark.postgres
def test_the_impact_and_register_tables_reach_postgresql_and_read_back_equal(sample_run, postgres_database):
    import sqlalchemy as sa

    from cluster_pipeline.lib.publish.warehouse import replace_tables

    names = [*tables.MEASUREMENT_TABLES, *tables.REGISTER_TABLES]
    frames = {name: read_table(sample_run.output, name) for name in names}
    engine = sa.create_engine(postgres_database)
    try:
        for _ in range(2):  # a second run replaces the tables
            written = replace_tables(engine, {n: (f[tables.columns(n)], tables.schema(n)) for n, f in frames.items()})
        assert written == {name: len(frame) for name, frame in frames.items()}
        with engine.connect() as connection:
            estimates = pd.read_sql_table("impact_estimates", connection)
    finally:
        engine.dispose()
    published = frames["impact_estimates"].sort_values(["outcome", "estimand", "method"]).reset_index(drop=True)
    estimates = estimates.sort_values(["outcome", "estimand", "method"]).reset_index(drop=True)
    assert estimates["estimate"].round(9).tolist() == published["estimate"].round(9).tolist()
    assert estimates["headline"].tolist() == published["headline"].tolist()


def test_files_validated_together_are_each_held_to_their_own_year(tmp_path):
    register_file(
        tmp_path,
        2016,
        [
            "12345674;2016;620100;101;2001;12,5;5400;16000;0;;",
            "11111114;2017;620100;101;2001;3,0;900;2000;0;;",  # another file's year
            "22222228;2016;620100;101;2017;3,0;900;2000;0;;",  # founded after its file's year
        ],
    )
    register_file(
        tmp_path,
        2017,
        [
            "12345674;2017;620100;101;2001;12,5;5400;16000;0;;",  # the same firm a year on: no duplicate
            "22222228;2017;620100;101;2017;3,0;900;2000;0;;",
        ],
    )
    extract = read_register(tmp_path)
    assert {(r.source_file, r.source_row): r.reasons for r in extract.quarantine.itertuples()} == {
        ("firms_2016.csv", 3): ["year.reporting_year: year must equal the year of its file"],
        ("firms_2016.csv", 4): ["founded_year.not_after_year: founded_year must not be after the year of its file"],
    }
    found = extract.firms[["cvr", "year"]].values.tolist()
    assert found == [["12345674", 2016], ["12345674", 2017], ["22222228", 2017]]


def test_files_validated_in_batches_give_what_one_batch_gives(tmp_path, monkeypatch):
    register_file(tmp_path, 2016, ROWS_2016)
    register_file(tmp_path, 2017, [r.replace("2016", "2017") for r in ROWS_2016])
    together = read_register(tmp_path)
    batches = []
    monkeypatch.setattr(register_module, "BATCH_ROWS", 2)
    monkeypatch.setattr(
        register_module, "validate_register", lambda files: batches.append(files) or validate_register(files)
    )
    extracts_equal(read_register(tmp_path), together)
    assert len(batches) == 2
