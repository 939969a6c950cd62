"""The statistics as JSON-stat 2.0 and PX: valid by other people's validators and readers,
and read back by them equal to the published Parquet figures."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from cluster_pipeline.lib.publish import cubes, jsonstat, px
from cluster_pipeline.lib.publish.parquet_store import read_partition, read_table, years_written

UPDATED = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
SOURCE = {"en": "test source", "da": "testkilde"}


def _impact_rows(**changes) -> pd.DataFrame:
    """Two groups of the impact estimates: every participant, and one band suppressed."""
    base = {
        "outcome": "innovation",
        "estimand": "risk_difference_pp",
        "method": "matched",
        "estimate": 26.4,
        "ci_low": 24.7,
        "ci_high": 28.1,
        "p_value": 0.00001,
        "n_treated": 900,
        "n_control": 5000,
        "n_firms_treated": 400,
        "n_firms_control": 3000,
        "n_treated_off_support": 0,
        "years": "2014-2018",
        "headline": True,
        "detail": "",
        "suppressed": False,
        "group_by": None,
        "group": None,
        "suppression_reason": None,
    }
    band = base | {"group_by": "services_band", "group": "6+", "estimate": None, "ci_low": None, "ci_high": None}
    band |= {"suppressed": True, "suppression_reason": "min_firms", "headline": False}
    return pd.DataFrame([base | changes, band])


def test_a_cube_holds_every_combination_row_major_with_the_measures_last():
    frame = pd.DataFrame(
        {"year": [2016, 2017, 2017], "band": ["0", "0", "1-2"], "companies": [10, 11, 12]}
        | {f"{o}": [1, 2, 3] for o in ["new_ideas", "new_competences", "new_products", "partnership_project"]}
        | {"international_activity": [1, 2, 3]}
        | {f"{o}_share": [0.1, 0.2, 0.3] for o in ["new_ideas", "new_competences", "new_products"]}
        | {f"{o}_share": [0.1, 0.2, 0.3] for o in ["partnership_project", "international_activity"]}
    )
    cube = cubes.build_cube("service_intensity", frame)
    assert cube.ids == ["year", "band", "contents"]
    assert cube.sizes == [2, 2, 11]
    assert cube.values[cube.flat_index({"year": "2017", "band": "1-2"}, "companies")] == 12
    missing = cube.flat_index({"year": "2016", "band": "1-2"}, "companies")
    assert math.isnan(cube.values[missing]) and cube.status[missing] == cubes.MISSING


def test_a_suppressed_group_is_marked_x_in_json_stat_and_withheld_dots_in_px():
    cube = cubes.build_cube("impact_estimates", _impact_rows())
    suppressed = cube.flat_index(
        {"outcome": "innovation", "estimand": "risk_difference_pp", "method": "matched", "group": "services_band:6+"},
        "n_treated",
    )
    assert cube.status[suppressed] == cubes.SUPPRESSED
    dataset = jsonstat.dataset(cube, "en", "2026-12-06T10:30:00Z", "test")
    assert dataset["status"][str(suppressed)] == "x"
    assert "suppressed" in dataset["extension"]["status"]["x"]
    text = px.px_file(cube, UPDATED, SOURCE)
    assert '".."' in text.split("DATA=")[1]


def test_figures_are_compared_as_published_rounded_to_their_decimals():
    small = cubes.build_cube("impact_estimates", _impact_rows(estimate=26.4000001))
    figures = cubes.figures(small)
    estimate = figures[(figures["measure"] == "estimate") & (figures["dimensions"].str.endswith("group=all"))]
    assert estimate["value"].tolist() == [26.4]
    assert not figures["dimensions"].str.contains("services_band:6+", regex=False).any(), "suppressed: not published"


# --- the published sample, read back by other people's readers ------------------------------------


def _published(run, name: str) -> pd.DataFrame:
    if cubes.cube_spec(name).yearly:
        years = years_written(run.output, name)
        return pd.concat([read_partition(run.output, name, y).assign(year=y) for y in years], ignore_index=True)
    return read_table(run.output, name)


def _long(run, name: str) -> pd.Series:
    """The Parquet figures of a statistic, keyed as the cube keys them (dimension ids, then the measure)."""
    cube = cubes.build_cube(name, _published(run, name))
    figures = cubes.figures(cube)
    return figures.set_index(["year", "dimensions", "measure"])["value"]


@pytest.mark.parametrize("name", cubes.STATISTICS)
@pytest.mark.parametrize("language", ["en", "da"])
def test_every_statistic_is_valid_json_stat_in_english_and_danish(sample_run, name, language):
    from jsonstat_validator import validate_jsonstat

    path = sample_run.output / "site" / "data" / (f"{name}.json" if language == "en" else f"{name}.da.json")
    dataset = json.loads(path.read_text(encoding="utf-8"))
    assert validate_jsonstat(dataset)
    # what a schema cannot say: the value array fills the cube, every status and role names something real
    assert len(dataset["value"]) == math.prod(dataset["size"])
    assert [len(dataset["dimension"][d]["category"]["index"]) for d in dataset["id"]] == dataset["size"]
    assert all(0 <= int(i) < len(dataset["value"]) for i in dataset["status"])
    assert set(dataset["status"].values()) <= set(dataset["extension"]["status"])
    assert {d for ids in dataset["role"].values() for d in ids} <= set(dataset["id"])
    assert dataset["role"]["metric"] == ["contents"]
    assert all(dataset["value"][int(i)] is None for i, s in dataset["status"].items() if s in (cubes.MISSING, "x")), (
        "a missing or suppressed cell has no value"
    )
    units = dataset["dimension"]["contents"]["category"]["unit"]
    assert set(units) == set(dataset["dimension"]["contents"]["category"]["index"])


@pytest.mark.parametrize("name", cubes.STATISTICS)
def test_json_stat_read_back_with_pyjstat_equals_the_parquet_figures(sample_run, name):
    from pyjstat import pyjstat

    text = (sample_run.output / "site" / "data" / f"{name}.json").read_text(encoding="utf-8")
    frame = pyjstat.Dataset.read(text).write("dataframe", naming="id")
    frame = frame.dropna(subset=["value"])
    published = _long(sample_run, name)
    others = [c for c in frame.columns if c not in ("year", "contents", "value")]
    keys = zip(
        frame["year"].astype(int) if "year" in frame else [None] * len(frame),
        frame[others].astype(str).apply(lambda r: "; ".join(f"{c}={r[c]}" for c in others), axis=1),
        frame["contents"],
    )
    read_back = pd.Series(frame["value"].astype(float).to_numpy(), index=pd.MultiIndex.from_tuples(list(keys)))
    assert len(read_back) == len(published)
    expected = published.reindex(read_back.index)
    np.testing.assert_allclose(read_back.to_numpy(), expected.to_numpy(dtype=float), rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", cubes.STATISTICS)
@pytest.mark.parametrize("language", ["da", "en"])
def test_px_read_back_with_pyaxis_equals_the_parquet_figures(sample_run, name, language):
    from pyaxis import pyaxis

    path = sample_run.output / "site" / "data" / f"{name}.px"
    parsed = pyaxis.parse(str(path), encoding="utf-8", lang=language)
    data = parsed["DATA"]
    cube = cubes.build_cube(name, _published(sample_run, name))
    published = cubes.figures(cube)
    assert len(data) == len(cube.values)
    assert parsed["METADATA"]["LANGUAGES"] == ["da", "en"]
    for keyword in ("CHARSET", "MATRIX", "SUBJECT-CODE", "SUBJECT-AREA", "CONTENTS", "TITLE", "UNITS", "STUB"):
        assert keyword in parsed["METADATA"], keyword
    numbers = pd.to_numeric(data["DATA"], errors="coerce").dropna()
    assert len(numbers) == len(published)
    assert sorted(np.round(numbers.to_numpy(dtype=float), 6)) == sorted(
        np.round(published["value"].to_numpy(dtype=float), 6)
    )


def test_a_statistic_is_titled_by_its_dimensions_with_the_year_last_in_both_languages():
    frame = pd.DataFrame({"year": [2016], "region_code": ["1081"], "region_name": ["Nordjylland"]})
    measures = [m.column for m in cubes.cube_spec("regional_outcomes").measures]
    cube = cubes.build_cube("regional_outcomes", frame.assign(**dict.fromkeys(measures, 1)))
    assert cube.title("en") == "Cluster companies and their outcomes by region and year"
    assert cube.title("da") == "Klyngevirksomheder og deres resultater efter region og år"
    text = px.px_file(cube, UPDATED, SOURCE)
    assert 'TITLE="Klyngevirksomheder og deres resultater efter region og år";' in text
    assert jsonstat.dataset(cube, "en", "2026-12-06T10:30:00Z", "test")["label"] == cube.title("en")
