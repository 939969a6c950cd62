"""`cluster-pipeline explain`: from a published figure back to the rows of the files, on the
national sample; the rows listed must add up to the published value."""

import io

import pandas as pd
import pytest

from cluster_pipeline.cli import main
from cluster_pipeline.lib.publish.explain import COMPANY_INDICATORS, explain_indicator, explain_outcome
from cluster_pipeline.lib.publish.parquet_store import partition_path, read_partition, read_table

LINEAGE = ["source_file", "source_sheet", "source_row"]


def accepted_rows(run) -> set[tuple]:
    accepted = pd.read_parquet(partition_path(run.output / "_work", "accepted_members", run.year))
    return set(accepted[LINEAGE].astype(str).itertuples(index=False, name=None))


def listed_rows(rows: pd.DataFrame) -> set[tuple]:
    return set(rows[LINEAGE].astype(str).itertuples(index=False, name=None))


@pytest.mark.parametrize("indicator", sorted(COMPANY_INDICATORS))
def test_the_companies_behind_a_company_count_indicator_are_its_published_value(sample_run, indicator):
    found = explain_indicator(sample_run.output, sample_run.year, indicator)
    published = read_partition(sample_run.output, "indicator_status", sample_run.year).set_index("indicator_id")
    assert found.rows["company_id"].nunique() == published.at[indicator, "value"] == found.published
    assert listed_rows(found.rows) <= accepted_rows(sample_run)
    assert found.rows[COMPANY_INDICATORS[indicator]].all()


def test_the_companies_behind_a_clusters_outcome_are_its_published_value(sample_run):
    outcomes = read_partition(sample_run.output, "cluster_outcomes", sample_run.year).set_index("cluster_id")
    found = explain_outcome(sample_run.output, sample_run.year, "new_products", cluster="DK-CL-003")
    assert found.rows["company_id"].nunique() == outcomes.at["DK-CL-003", "new_products"] > 0
    assert set(found.rows["cluster_id"]) == {"DK-CL-003"}
    assert listed_rows(found.rows) <= accepted_rows(sample_run)


def test_the_companies_behind_a_regions_outcome_are_its_published_value(sample_run):
    outcomes = read_partition(sample_run.output, "regional_outcomes", sample_run.year).set_index("region_code")
    found = explain_outcome(sample_run.output, sample_run.year, "partnership_project", region="1083")
    assert found.rows["company_id"].nunique() == outcomes.at["1083", "partnership_project"] > 0
    assert listed_rows(found.rows) <= accepted_rows(sample_run)


def test_a_national_outcome_shows_the_sum_of_clusters_beside_the_distinct_count(sample_run, capsys):
    assert (
        main(["explain", "--output", str(sample_run.output), "--year", str(sample_run.year), "--outcome", "new_ideas"])
        == 0
    )
    first = capsys.readouterr().out.splitlines()[0]
    national = read_partition(sample_run.output, "national_outcomes", sample_run.year).iloc[0]
    assert f"published {national['new_ideas']:,}" in first
    assert f"sum of the clusters' own counts is {national['new_ideas_sum_of_clusters']:,}" in first


def test_csv_output_is_the_rows_with_a_header(sample_run, capsys):
    assert (
        main(
            [
                "explain",
                "--output",
                str(sample_run.output),
                "--year",
                str(sample_run.year),
                "--indicator",
                "innovation",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert {"company_id", "cluster_id", "source_file", "source_sheet", "source_row"} <= set(rows.columns)
    published = read_partition(sample_run.output, "indicator_status", sample_run.year).set_index("indicator_id")
    assert rows["company_id"].nunique() == published.at["innovation", "value"]


def test_a_company_is_listed_in_every_year_cluster_and_row(sample_run, capsys):
    memberships = pd.concat(
        read_partition(sample_run.output, "memberships", y).assign(year=y) for y in range(2014, 2019)
    )
    spread = memberships.groupby("company_id").agg(years=("year", "nunique"), clusters=("cluster_id", "nunique"))
    company = spread[(spread["years"] >= 3) & (spread["clusters"] >= 3)].index[0]
    assert main(["explain", "--output", str(sample_run.output), "--company", company, "--format", "csv"]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(rows) == int((memberships["company_id"] == company).sum())
    assert rows["year"].nunique() >= 3 and rows["cluster_id"].nunique() >= 3


def test_an_old_id_is_followed_to_the_id_it_stands_for_now(sample_run, capsys):
    identities = read_table(sample_run.output, "company_identities")
    former = identities[identities["company_id"] != identities["current_id"]].iloc[0]
    assert main(["explain", "--output", str(sample_run.output), "--company", former["company_id"]]) == 0
    assert f"company {former['current_id']} (formerly {former['company_id']})" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments,named",
    [
        (["--year", "2016", "--indicator", "happiness"], "indicators: innovation"),
        (["--year", "2016", "--outcome", "profit"], "outcomes: new_ideas"),
        (["--year", "2016", "--outcome", "new_products", "--cluster", "DK-CL-999"], "clusters: DK-CL-001"),
        (["--year", "2016", "--outcome", "new_products", "--region", "9999"], "regions: 1081"),
        (["--company", "CVR00000000"], "no company 'CVR00000000'"),
        (["--year", "2031", "--indicator", "innovation"], "published years: 2014, 2015, 2016, 2017, 2018"),
    ],
)
def test_an_unknown_name_is_a_clear_error_naming_what_exists(sample_run, capsys, arguments, named):
    assert main(["explain", "--output", str(sample_run.output), *arguments]) == 2
    assert named in capsys.readouterr().err


def test_an_output_folder_without_the_year_is_a_clear_error(tmp_path, capsys):
    assert main(["explain", "--output", str(tmp_path), "--year", "2016", "--indicator", "innovation"]) == 2
    assert "has no published indicator_status for 2016" in capsys.readouterr().err


def readme_examples(command: str) -> list[list[str]]:
    """The README's example lines of a command (what a newcomer copies), as arguments."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    lines = [line.split("#")[0].split(">")[0].split() for line in readme.splitlines()]
    return [w[1:] for w in lines if w[:2] == ["cluster-pipeline", command] and not any("[" in x or "|" in x for x in w)]


def test_the_readme_explain_examples_work_on_the_demo_data(sample_run, capsys):
    # the sample fixture is the demo's data: 2014-2018, scale 1, seed 2016
    examples = readme_examples("explain")
    assert len(examples) >= 4
    for arguments in examples:
        assert main([*arguments, "--output", str(sample_run.output)]) == 0, arguments
        capsys.readouterr()


def test_the_demo_ends_with_what_to_do_next_and_its_lines_work(sample_run, capsys):
    from cluster_pipeline.cli import what_next

    text = what_next(sample_run.output, sample_run.landing, [2014, 2015, 2016, 2017, 2018])
    assert "cluster-pipeline ui" in text and "http://127.0.0.1:3000/" in text
    assert str((sample_run.output / "reports" / "2018.html").resolve()) in text
    for line in text.splitlines():
        if "cluster-pipeline explain" in line:
            arguments = line.split("cluster-pipeline ", 1)[1].split()
            assert main([*arguments, "--output", str(sample_run.output)]) == 0, line
    capsys.readouterr()
