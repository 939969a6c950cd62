"""Materialise reporting years through Dagster the way `cluster-pipeline run` does: the same
assets the UI shows, in steps so that what spans all years is computed once
(the parts of the graph are named in defs/selections.py):

1. per year, ingest, contracts and `resolved_companies` (the year's own resolution);
2. `company_identities` once, over every resolved year;
3. per year, everything after it but the report (companies, memberships, statistics, warehouse);
   then the automation conditions are evaluated as dagster-daemon's sensor would, and what they
   ask for is run until they ask for nothing: every other year whose published ids the new
   identities changed gets its companies, memberships and warehouse copy re-published
   (defs/companies/automation.py, the one rule for both);
4. the impact measurement once, over every published year (skipped without a register);
5. per year, the report, which shows the impact measurement too;
6. once, the release (the figures that changed since the last one) and the statistics site.

Why the CLI sequences runs itself, where Dagster cannot: re-publishing the years outside the run
(step 3) is declarative automation, which dagster-daemon's sensor ticks evaluate, and `run` is one
process without a daemon that must end with everything published, so it evaluates the same
conditions itself (Dagster's evaluate_automation_conditions); and when a run over many years
fails, Dagster fails every year downstream of the failed step, while `run` goes again year by year
to name the failing year and publish the others. In a deployment the same parts follow each other
by the assets' automation conditions and the identity_follow_ups sensor (defs/selections.py names
the parts for both).

Consecutive years go through each part in one Dagster run (steps 1-3 in one, as a single-run
backfill from the UI does), so imports, the contracts' suites and the run overhead are paid
once. When that run fails, the years go again one by one, so that a failing year is named and
the others are published.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import dagster as dg

from cluster_pipeline.definitions import ASSETS
from cluster_pipeline.defs.impact.assets import NOT_MEASURED
from cluster_pipeline.defs.partitions import DETAILS_BY_YEAR, PASSED_BY_YEAR, add_partitions, as_metadata, range_tags
from cluster_pipeline.defs.selections import (
    AFTER_IDENTITIES,
    IDENTITIES,
    IMPACT,
    REPORTS,
    REPUBLISH,
    SITE,
    SURVEY,
    UP_TO_RESOLUTION,
    run_name,
)

TRIGGERED_BY_IDENTITIES = {"cluster_pipeline/trigger": "identities_changed"}
REPUBLISHING = run_name(REPUBLISH)  # a follow-up run is listed under it whichever of its assets it runs
# The console shows the pipeline's own lines and, on a failure, its diagnosis in one line; every
# event, each traceback whole, stays in the instance's event log (and the log file the line names).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
YEAR_TAG = "cluster_pipeline/year"


@dataclass(frozen=True)
class YearCheck:
    """One year's verdict of an asset check (a check over many years holds each year's)."""

    asset_key: dg.AssetKey
    check_name: str
    passed: bool
    severity: dg.AssetCheckSeverity
    metadata: dict


@dataclass
class YearOutcome:
    year: int
    seconds: float = 0.0  # of the runs of this year alone; 0 when it ran with other years
    errors: list[str] = field(default_factory=list)
    checks: list[YearCheck] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.errors


@dataclass
class Outcome:
    years: dict[int, YearOutcome]
    identity_errors: list[str]
    identity_checks: list
    republished: list[int]
    impact_errors: list[str] = field(default_factory=list)
    impact_checks: list = field(default_factory=list)
    impact_skipped: bool = True  # no register files: nothing measured
    site_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    one_run_per_part: bool = False  # the years went through each part of the graph together


def _errors(result: dg.ExecuteInProcessResult) -> list[str]:
    """Each failed step with what went wrong: the innermost cause, not Dagster's wrapper."""
    failures = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error.cause is not None:
                error = error.cause
            failures.append(f"{event.step_key}: {error.message.strip()}")
    return failures or ([] if result.success else ["run failed"])


def _skipped(result: dg.ExecuteInProcessResult) -> bool:
    """The measurement ran without a register: each of its outputs says so."""
    events = result.get_asset_materialization_events()
    return result.success and all(NOT_MEASURED in e.materialization.metadata for e in events)


def _materialise(
    selection, resources, instance, years: list[int] | None = None, tags: dict | None = None, name: str | None = None
):
    """One run of the selection, as a job named after its part of the graph (the UI lists runs by
    job) and tagged with its years; for consecutive years, one run over their range."""
    tags = dict(tags or {})
    if years:  # the years in the UI's run list: "2016", or "2014-2018" for a run over a range
        tags[YEAR_TAG] = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
    if years and len(years) > 1:
        tags |= range_tags(years[0], years[-1])
    name = name or run_name(selection)
    job = dg.define_asset_job(name, selection=selection)
    return (
        dg.Definitions(assets=ASSETS, jobs=[job], resources=resources)
        .resolve_job_def(name)
        .execute_in_process(
            instance=instance,
            partition_key=str(years[0]) if years and len(years) == 1 else None,
            raise_on_error=False,
            run_config=QUIET,
            tags=tags,
        )
    )


def _year_checks(evaluations, year: int) -> list[YearCheck]:
    """The year's verdicts: a check over many years says each year's in its metadata."""
    checks = []
    for check in evaluations:
        by_year = check.metadata.get(PASSED_BY_YEAR)
        details = check.metadata.get(DETAILS_BY_YEAR)
        checks.append(
            YearCheck(
                check.asset_key,
                check.check_name,
                by_year.value[str(year)] if by_year else check.passed,
                check.severity,
                {k: as_metadata(v) for k, v in details.value[str(year)].items()} if by_year else dict(check.metadata),
            )
        )
    return checks


def _year_step(outcome: YearOutcome, selection, resources, instance) -> None:
    """One run of the year's assets in the selection; its time, errors and checks go to the year."""
    started = time.perf_counter()
    result = _materialise(selection, resources, instance, [outcome.year])
    outcome.seconds += time.perf_counter() - started
    outcome.errors += _errors(result)
    outcome.checks += _year_checks(result.get_asset_check_evaluations(), outcome.year)


def _consecutive(years: list[int]) -> bool:
    return len(years) > 1 and years == list(range(years[0], years[-1] + 1))


def run_years(years: list[int], resources: dict, instance: dg.DagsterInstance, progress=print) -> Outcome:
    started = time.perf_counter()
    add_partitions(instance, years)
    outcome = None
    if _consecutive(years):
        outcome = _together(years, resources, instance, progress)
    if outcome is None:
        outcome = _year_by_year(years, resources, instance, progress)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _together(years: list[int], resources: dict, instance, progress) -> Outcome | None:
    """Every part of the graph in one run over the years (None when a step failed)."""
    span = f"{years[0]}-{years[-1]}"
    progress(f"{span}: ingest, contracts, companies, identities, statistics, warehouse in one run ...")
    published = _materialise(SURVEY, resources, instance, years)
    if not published.success:
        progress(f"{span}: a step failed; the years go again one by one, to name the failing year ...")
        return None
    identity_keys = IDENTITIES.resolve(ASSETS)
    evaluations = published.get_asset_check_evaluations()
    yearly = [c for c in evaluations if c.asset_key not in identity_keys]
    outcomes = {year: YearOutcome(year, checks=_year_checks(yearly, year)) for year in years}
    identity_checks = [c for c in evaluations if c.asset_key in identity_keys]
    republished, republish_errors = _republish(resources, instance, progress)
    impact = _impact(resources, instance, progress)
    progress(f"{span}: reports ...")
    reports = _materialise(REPORTS, resources, instance, years)
    for year, outcome in outcomes.items():
        outcome.errors += _errors(reports)
        outcome.checks += _year_checks(reports.get_asset_check_evaluations(), year)
    site = _site(resources, instance, progress)
    return Outcome(
        outcomes,
        republish_errors,
        identity_checks,
        republished,
        _errors(impact),
        impact.get_asset_check_evaluations(),
        _skipped(impact),
        site_errors=site,
        one_run_per_part=True,
    )


FOLLOW_UP_TICKS = 4  # companies and memberships, then their warehouse copy; more would be a loop


def _republish(resources: dict, instance, progress) -> tuple[list[int], list[str]]:
    """What the automation conditions of REPUBLISH ask for, run tick after tick as the daemon
    would (one run per year asked for), until they ask for nothing: every year whose published
    ids the identities changed is published again under them."""
    republished: set[int] = set()
    errors: list[str] = []
    cursor = None
    keys = REPUBLISH.resolve(ASSETS)
    defs = dg.Definitions(assets=ASSETS, resources=resources)
    for _ in range(FOLLOW_UP_TICKS):
        with warnings.catch_warnings():  # Dagster's own call of a beta parameter, said once here, not in every run
            warnings.filterwarnings("ignore", message="Parameter `include_sources`", category=dg.BetaWarning)
            tick = dg.evaluate_automation_conditions(defs, instance, asset_selection=REPUBLISH, cursor=cursor)
        cursor = tick.cursor
        asked: dict[int, set[dg.AssetKey]] = {}
        for key in keys:
            for year in tick.get_requested_partitions(key):
                asked.setdefault(int(year), set()).add(key)
        if not asked:
            break
        for year, wanted in sorted(asked.items()):
            names = ", ".join(sorted(key.to_user_string() for key in wanted))
            progress(f"{year}: re-publishing {names} under the new identities ...")
            selection = dg.AssetSelection.assets(*wanted)
            result = _materialise(selection, resources, instance, [year], TRIGGERED_BY_IDENTITIES, name=REPUBLISHING)
            if result.success:
                republished.add(year)
            else:
                errors += [f"re-publishing {year}: {e}" for e in _errors(result)]
    return sorted(republished), errors


def _impact(resources: dict, instance, progress) -> dg.ExecuteInProcessResult:
    progress("impact measurement across years ...")
    return _materialise(IMPACT, resources, instance)


def _site(resources: dict, instance, progress) -> list[str]:
    progress("release and statistics site ...")
    return _errors(_materialise(SITE, resources, instance))


def _year_by_year(years: list[int], resources: dict, instance, progress) -> Outcome:
    outcomes = {year: YearOutcome(year) for year in years}
    for year, outcome in outcomes.items():
        progress(f"{year}: ingest, contracts, companies of the year ...")
        _year_step(outcome, UP_TO_RESOLUTION, resources, instance)

    progress("company identities across years ...")
    identities = _materialise(IDENTITIES, resources, instance)
    identity_errors = _errors(identities)
    if identity_errors:
        for outcome in outcomes.values():
            outcome.errors.append("company identities failed")
        return Outcome(outcomes, identity_errors, identities.get_asset_check_evaluations(), [])

    for year, outcome in outcomes.items():
        if outcome.success:
            progress(f"{year}: companies, statistics, warehouse ...")
            _year_step(outcome, AFTER_IDENTITIES, resources, instance)
    republished, republish_errors = _republish(resources, instance, progress)
    impact = _impact(resources, instance, progress)
    for year, outcome in outcomes.items():
        if outcome.success:
            progress(f"{year}: report ...")
            _year_step(outcome, REPORTS, resources, instance)
    site = _site(resources, instance, progress) if any(o.success for o in outcomes.values()) else []
    return Outcome(
        outcomes,
        identity_errors + republish_errors,
        identities.get_asset_check_evaluations(),
        republished,
        _errors(impact),
        impact.get_asset_check_evaluations(),
        _skipped(impact),
        site_errors=site,
    )
