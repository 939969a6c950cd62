"""The landing-folder sensor and the nightly schedule, evaluated over a temporary landing folder."""

import os
from datetime import datetime

import dagster as dg

from cluster_pipeline.definitions import build_definitions
from cluster_pipeline.defs.ingest.automation import landing_files_sensor, nightly_latest_year
from cluster_pipeline.defs.resources import LandingFolder


def evaluate_sensor(landing, cursor=None) -> tuple[dg.SensorResult | dg.SkipReason, str | None]:
    """The sensor's answer and its new cursor. Called directly: the test harness cannot check run
    requests against partitions the same result adds (the daemon does)."""
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={"landing": LandingFolder(path=str(landing))},
            definitions=build_definitions(landing=str(landing)),
        )
        return landing_files_sensor(context), context.cursor


def tick(landing, cursor=None):
    result, cursor = evaluate_sensor(landing, cursor)
    return (result.run_requests if isinstance(result, dg.SensorResult) else []), cursor


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_new_file_requests_a_run_for_its_year(tmp_path):
    write(tmp_path / "2016" / "a.csv", "x")
    requests, _ = tick(tmp_path)
    assert [r.partition_key for r in requests] == ["2016"]


def test_a_file_named_in_the_wrong_character_set_requests_a_run_like_any_other(tmp_path):
    (tmp_path / "2016").mkdir()
    with open(os.fsencode(tmp_path / "2016") + b"/medlemmer_\xe6ndret.csv", "wb") as handle:
        handle.write(b"x")
    requests, cursor = tick(tmp_path)
    assert [r.partition_key for r in requests] == ["2016"] and "medlemmer_\\\\xe6ndret.csv" in cursor


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


def evaluate_schedule(landing, instance=None):
    definitions = build_definitions(landing=str(landing))
    with dg.instance_for_test() as own:
        context = dg.build_schedule_context(
            instance=instance or own,
            scheduled_execution_time=datetime(2026, 11, 27, 2),
            resources={"landing": LandingFolder(path=str(landing))},
            repository_def=definitions.get_repository_def(),
        )
        with dg.partition_loading_context(dynamic_partitions_store=instance or own):
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


def test_a_year_with_files_for_the_first_time_becomes_a_partition_in_the_same_tick(tmp_path):
    write(tmp_path / "2017" / "medlemmer.csv", "a")
    data, _ = evaluate_sensor(tmp_path)
    (request,) = data.dynamic_partitions_requests
    assert request.partitions_def_name == "reporting_years" and list(request.partition_keys) == ["2017"]
    assert [r.partition_key for r in data.run_requests] == ["2017"]


def test_the_nightly_schedule_makes_the_latest_year_a_partition_before_requesting_it(tmp_path):
    write(tmp_path / "2018" / "medlemmer.csv", "a")
    with dg.instance_for_test() as instance:
        data = evaluate_schedule(tmp_path, instance)
        assert [r.partition_key for r in data.run_requests] == ["2018"]
        assert instance.get_dynamic_partitions("reporting_years") == ["2018"]


def test_the_partitions_command_makes_every_year_with_files_a_partition(tmp_path, monkeypatch, capsys):
    from cluster_pipeline.cli import main

    write(tmp_path / "landing" / "2016" / "medlemmer.csv", "a")
    write(tmp_path / "landing" / "2015" / "medlemmer.csv", "a")
    (tmp_path / "landing" / "2017").mkdir()  # no files: not a reporting year yet
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert main(["partitions", "--landing", str(tmp_path / "landing")]) == 0
    assert "reporting years (partitions of" in capsys.readouterr().out
    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))  # not `with`: see cli.partitions
    try:
        assert instance.get_dynamic_partitions("reporting_years") == ["2015", "2016"]
    finally:
        instance.dispose()
