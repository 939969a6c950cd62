"""Releases and revisions: a run that changes a published figure is a release; a figure that
changed since the previous release is a revision, with its earlier value and the cause."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cluster_pipeline.lib.publish import releases
from cluster_pipeline.lib.publish.releases import IDENTITIES, IMPACT_INPUTS, causes, new_release

FIRST = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def figures(*rows: tuple) -> pd.DataFrame:
    """(table, year, dimensions, measure, value) rows."""
    return pd.DataFrame(rows, columns=releases.KEY + ["value"]).astype({"year": "Int64"})


def inputs(*rows: tuple) -> pd.DataFrame:
    """(year, source_file, sha256, status, rows_accepted, rows_quarantined) rows."""
    columns = ["year", "source_file", "sha256", "status", "rows_accepted", "rows_quarantined"]
    return pd.DataFrame(rows, columns=columns)


NATIONAL = figures(
    ("national_outcomes", 2016, "", "companies", 11998.0),
    ("cluster_outcomes", 2016, "cluster_id=DK-CL-001", "companies", 166.0),
)


def first_release():
    made = new_release(None, NATIONAL, None, {}, FIRST, "run-1")
    return made, pd.DataFrame([made.release])


def test_the_first_run_is_a_release_without_revisions():
    made, _ = first_release()
    assert made.release_id == "2026-12-01.1"
    assert made.release["years"] == [2016] and made.release["figures_changed"] == 2
    assert made.revisions.empty


def test_recomputing_the_same_figures_is_no_release():
    _, earlier = first_release()
    assert new_release(NATIONAL, NATIONAL.copy(), earlier, {}, LATER, "run-2") is None


def test_a_changed_figure_is_a_revision_with_its_previous_value_release_and_cause():
    _, earlier = first_release()
    now = NATIONAL.copy()
    now.loc[1, "value"] = 140.0
    made = new_release(NATIONAL, now, earlier, {2016: "file replaced: wind_2016.csv"}, LATER, "run-2")
    assert made.release_id == "2026-12-02.2"
    (revision,) = made.revisions.to_dict("records")
    assert revision["dimensions"] == "cluster_id=DK-CL-001" and revision["measure"] == "companies"
    assert (revision["previous_value"], revision["new_value"]) == (166.0, 140.0)
    assert (revision["previous_release"], revision["release"]) == ("2026-12-01.1", "2026-12-02.2")
    assert revision["cause"] == "file replaced: wind_2016.csv"


def test_a_figure_published_for_the_first_time_is_a_release_but_no_revision():
    _, earlier = first_release()
    now = pd.concat([NATIONAL, figures(("national_outcomes", 2017, "", "companies", 12100.0))], ignore_index=True)
    made = new_release(NATIONAL, now, earlier, {}, LATER, "run-2")
    assert made.release["years"] == [2017]
    assert made.revisions.empty


def test_a_withdrawn_figure_is_a_revision_without_a_new_value():
    _, earlier = first_release()
    made = new_release(NATIONAL, NATIONAL.iloc[:1], earlier, {}, LATER, "run-2")
    (revision,) = made.revisions.to_dict("records")
    assert revision["previous_value"] == 166.0 and pd.isna(revision["new_value"])


def test_the_cause_names_files_added_replaced_removed_and_rows_quarantined():
    before = inputs((2016, "a.csv", "1", "ingested", 100, 0), (2016, "b.csv", "2", "ingested", 50, 0))
    now = inputs(
        (2016, "a.csv", "9", "ingested", 98, 2),  # replaced, two rows now quarantined
        (2016, "c.csv", "3", "ingested", 10, 0),
    )
    found = causes(before, now)[2016]
    assert (
        found == "file added: c.csv; file removed: b.csv; file replaced: a.csv; rows quarantined +2; rows accepted -42"
    )


def test_identities_are_named_as_the_cause_only_when_the_same_rows_have_other_ids():
    files = [(2016, "a.csv", "1", "ingested", 100, 0)]
    relinked = causes(
        inputs(*files, (2016, IDENTITIES, "rows:ids", "", 0, 0)),
        inputs(*files, (2016, IDENTITIES, "rows:other", "", 0, 0)),
    )
    assert relinked[2016] == "company identities re-linked"
    other_rows = causes(
        inputs(*files, (2016, IDENTITIES, "rows:ids", "", 0, 0)),
        inputs(*files, (2016, IDENTITIES, "more:other", "", 0, 0)),
    )
    assert 2016 not in other_rows


def test_the_impact_estimates_name_the_register_files_that_changed():
    before = inputs((IMPACT_INPUTS, "firms_2016.csv", "1", "ingested", 10, 0))
    now = inputs((IMPACT_INPUTS, "firms_2016.csv", "2", "ingested", 10, 0))
    assert causes(before, now)[None] == "register files added or replaced: firms_2016.csv"


def test_a_revision_without_any_changed_input_says_so():
    same = inputs((2016, "a.csv", "1", "ingested", 100, 0))
    assert causes(same, same)[None] == releases.UNKNOWN_CAUSE
    assert 2016 not in causes(same, same)
