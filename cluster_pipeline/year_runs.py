"""Materialise reporting years through Dagster the way `cluster-pipeline run` does: the same
assets the UI shows, in steps so that what spans all years is computed once
(the parts of the graph are named in defs/selections.py):

1. per year, ingest, contracts and `resolved_companies` (the year's own resolution);
2. `company_identities` once, over every resolved year;
3. per year, everything after it but the report (companies, memberships, statistics, warehouse);
   then every other year whose published ids the new identities changed gets its companies,
   memberships and warehouse copy re-published (what the automation condition does in a
   deployment with dagster-daemon);
4. the impact measurement once, over every published year (skipped without a register);
5. per year, the report, which shows the impact measurement too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg

from cluster_pipeline.definitions import ASSETS
from cluster_pipeline.defs.companies.assets import IDS, out_of_date_years
from cluster_pipeline.defs.selections import AFTER_IDENTITIES, IDENTITIES, IMPACT, REPORTS, REPUBLISH, UP_TO_RESOLUTION

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class YearOutcome:
    year: int
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    checks: list = field(default_factory=list)  # AssetCheckEvaluation

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


def _errors(result: dg.ExecuteInProcessResult) -> list[str]:
    failures = [
        e.event_specific_data.error.message.strip() for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    ]
    return failures or ([] if result.success else ["run failed"])


def _skipped(result: dg.ExecuteInProcessResult) -> bool:
    return result.success and not result.get_asset_materialization_events()


def _materialise(selection, resources, instance, partition: int | None = None, tags: dict | None = None):
    return dg.materialize(
        ASSETS,
        selection=selection,
        partition_key=None if partition is None else str(partition),
        instance=instance,
        resources=resources,
        raise_on_error=False,
        run_config=QUIET,
        tags=tags,
    )


def _year_step(outcome: YearOutcome, selection, resources, instance) -> None:
    """One run of the year's assets in the selection; its time, errors and checks go to the year."""
    started = time.perf_counter()
    result = _materialise(selection, resources, instance, outcome.year, {"cluster_pipeline/year": str(outcome.year)})
    outcome.seconds += time.perf_counter() - started
    outcome.errors += _errors(result)
    outcome.checks += result.get_asset_check_evaluations()


def run_years(years: list[int], resources: dict, instance: dg.DagsterInstance, progress=print) -> Outcome:
    outcomes = {year: YearOutcome(year) for year in years}
    for year, outcome in outcomes.items():
        progress(f"{year}: ingest, contracts, companies of the year ...")
        _year_step(outcome, UP_TO_RESOLUTION, resources, instance)

    progress("company identities across years ...")
    identities = _materialise(IDENTITIES, resources, instance)
    identity_errors = _errors(identities)
    republished: list[int] = []
    if identity_errors:
        for outcome in outcomes.values():
            outcome.errors.append("company identities failed")
        return Outcome(outcomes, identity_errors, identities.get_asset_check_evaluations(), republished)

    for year, outcome in outcomes.items():
        if outcome.success:
            progress(f"{year}: companies, statistics, warehouse ...")
            _year_step(outcome, AFTER_IDENTITIES, resources, instance)

    output = resources["output"]
    for year in out_of_date_years(output, output.read(IDS)):
        progress(f"{year}: re-publishing companies and memberships under the new identities ...")
        result = _materialise(
            REPUBLISH,
            resources,
            instance,
            year,
            {"cluster_pipeline/year": str(year), "cluster_pipeline/trigger": "identities_changed"},
        )
        if result.success:
            republished.append(year)
        else:
            identity_errors += [f"re-publishing {year}: {e}" for e in _errors(result)]

    progress("impact measurement across years ...")
    impact = _materialise(IMPACT, resources, instance)
    for year, outcome in outcomes.items():
        if outcome.success:
            progress(f"{year}: report ...")
            _year_step(outcome, REPORTS, resources, instance)
    return Outcome(
        outcomes,
        identity_errors,
        identities.get_asset_check_evaluations(),
        republished,
        _errors(impact),
        impact.get_asset_check_evaluations(),
        _skipped(impact),
    )
