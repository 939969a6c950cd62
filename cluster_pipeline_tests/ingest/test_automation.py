"""The landing-folder sensor and the nightly schedule, evaluated over a temporary landing folder."""

import os
from datetime import datetime

import dagster as dg

from cluster_pipeline.definitions import build_definitions
from cluster_pipeline.defs.ingest.automation import landing_files_sensor, nightly_latest_year
from cluster_pipeline.defs.resources import LandingFolder


def tick(landing, cursor=None):
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={"landing": LandingFolder(path=str(landing))},
        definitions=build_definitions(landing=str(landing)),
    )
    data = landing_files_sensor.evaluate_tick(context)
    return data.run_requests or [], data.cursor


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_new_file_requests_a_run_for_its_year(tmp_path):
    write(tmp_path / "2016" / "a.csv", "x")
    requests, _ = tick(tmp_path)
    assert [r.partition_key for r in requests] == ["2016"]


def test_the_same_content_is_never_requested_twice(tmp_path):
    write(tmp_path / "2016" / "a.csv", "x")
    first, cursor = tick(tmp_path)
    again, _ = tick(tmp_path, cursor)
    assert again == []
    # touching a file (new mtime, same bytes) is not a change
    os.utime(tmp_path / "2016" / "a.csv", (2_000_000_000, 2_000_000_000))
    touched, _ = tick(tmp_path, cursor)
    assert touched == []


def test_a_changed_file_requests_a_new_run_with_a_new_run_key(tmp_path):
    path = write(tmp_path / "2016" / "a.csv", "x")
    (first,), cursor = tick(tmp_path)
    write(path, "y")
    (second,), cursor = tick(tmp_path, cursor)
    write(path, "x")  # back to the first content: that content already had its run
    (third,), _ = tick(tmp_path, cursor)
    assert second.run_key != first.run_key and third.run_key == first.run_key


def test_the_cursor_never_skips_a_file_added_to_another_year(tmp_path):
    write(tmp_path / "2016" / "a.csv", "x")
    _, cursor = tick(tmp_path)
    write(tmp_path / "2017" / "b.csv", "x")
    write(tmp_path / "2016" / "c.csv", "x")
    requests, _ = tick(tmp_path, cursor)
    assert sorted(r.partition_key for r in requests) == ["2016", "2017"]


def test_folders_that_are_not_years_with_files_are_never_requested(tmp_path):
    (tmp_path / "2015").mkdir()  # empty
    write(tmp_path / "_truth" / "2016.json", "{}")
    write(tmp_path / "1999" / "old.csv", "x")  # before the partitions start
    write(tmp_path / "notes" / "x.txt", "x")
    requests, _ = tick(tmp_path)
    assert requests == []


def evaluate_schedule(landing):
    definitions = build_definitions(landing=str(landing))
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 27, 2),
        resources={"landing": LandingFolder(path=str(landing))},
        repository_def=definitions.get_repository_def(),
    )
    return nightly_latest_year.evaluate_tick(context)


def test_the_nightly_schedule_runs_the_latest_year_with_submissions(tmp_path):
    write(tmp_path / "2016" / "a.csv", "x")
    write(tmp_path / "2018" / "a.csv", "x")
    (tmp_path / "2019").mkdir()
    (request,) = evaluate_schedule(tmp_path).run_requests
    assert request.partition_key == "2018"


def test_the_nightly_schedule_launches_nothing_without_submissions(tmp_path):
    data = evaluate_schedule(tmp_path / "missing")
    assert not data.run_requests and "no year" in data.skip_message
