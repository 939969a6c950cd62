import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import date

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.metadata import markdown_table

# Every yearly asset takes ONE_RUN_FOR_MANY_YEARS, and Dagster 1.13 warns once per asset that
# the parameter is in beta: a dozen identical blocks in every run's output. Said here once.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

FIRST_YEAR = 2014  # the strategy's baseline year: no landing folder before it is a reporting year

# Reporting years as partitions, fed from the landing folders: a year becomes a partition when its
# folder holds files (the landing sensor, the nightly schedule, `cluster-pipeline run` and `ui` add
# it), so the UI shows the years there are data for, and a complete run shows complete assets.
years = dg.DynamicPartitionsDefinition(name="reporting_years")

# A backfill of many years is one run: each yearly step processes its years in turn (for_each_year),
# so imports, Great Expectations' suites and Dagster's run overhead are paid once, not once a year.
ONE_RUN_FOR_MANY_YEARS = dg.BackfillPolicy.single_run()


def year_range() -> tuple[int, int]:
    """The years a landing folder may be named by: the baseline year to the current year."""
    return FIRST_YEAR, date.today().year


def partition_years(instance: dg.DagsterInstance) -> list[int]:
    """The reporting years that are partitions, in order."""
    return sorted(int(key) for key in years.get_partition_keys(dynamic_partitions_store=instance))


def new_partitions(instance: dg.DagsterInstance, wanted) -> list[str]:
    """Of the years wanted, those that are not partitions yet (in order)."""
    existing = set(instance.get_dynamic_partitions(years.name))
    return [str(y) for y in sorted({int(y) for y in wanted}) if str(y) not in existing]


def add_partitions(instance: dg.DagsterInstance, wanted) -> list[str]:
    """The years wanted made partitions (those that were not); returns the ones added."""
    added = new_partitions(instance, wanted)
    if added:
        instance.add_dynamic_partitions(years.name, added)
    return added


def years_of(context) -> list[int]:
    """The reporting years of this run, in order: one, or a range in a single-run backfill."""
    return sorted(int(key) for key in context.partition_keys)


def range_tags(first: int, last: int) -> dict[str, str]:
    """The run tags of one run over the years first..last (what a single-run backfill sets)."""
    return {
        "dagster/asset_partition_range_start": str(first),
        "dagster/asset_partition_range_end": str(last),
    }


PASSED_BY_YEAR = "passed_by_year"  # a check over many years: each year's verdict
DETAILS_BY_YEAR = "details_by_year"  # and each year's metadata


def for_each_year(context: dg.AssetExecutionContext, work: Callable[[int], Iterable]) -> Iterator:
    """A yearly step over the years of its run, in order: `work(year)` yields the year's
    MaterializeResults and AssetCheckResults as a one-year run would. Over many years, each
    year's metadata goes to that year's materialisation, and each check is one evaluation
    (Dagster takes one per run) that passes when every year passed, with each year's verdict
    and metadata. A year that raises fails the step, naming the year, once the other years'
    tables are written."""
    run_years = years_of(context)
    if len(run_years) == 1:
        yield from work(run_years[0])
        return
    materialised: list = []
    checks: dict[tuple, dict[int, dg.AssetCheckResult]] = {}
    failures: dict[int, Exception] = {}
    for year in run_years:
        try:
            for event in work(year):
                if isinstance(event, dg.AssetCheckResult):
                    checks.setdefault((event.asset_key, event.check_name), {})[year] = event
                    continue
                context.add_asset_metadata(event.metadata or {}, asset_key=event.asset_key, partition_key=str(year))
                if event.asset_key not in materialised:
                    materialised.append(event.asset_key)
        except Exception as error:  # the other years go on; the step fails below
            context.log.error(f"{year}: {type(error).__name__}: {error}")
            failures[year] = error
    if failures:
        summary = "; ".join(f"{year}: {type(e).__name__}: {e}" for year, e in failures.items())
        raise dg.Failure(description=f"failed for {len(failures)} of {len(run_years)} years: {summary}") from next(
            iter(failures.values())
        )
    for key in materialised:
        yield dg.MaterializeResult(asset_key=key)
    for by_year in checks.values():
        yield _over_years(by_year)


def _raw(value):
    return value.value if isinstance(value, dg.MetadataValue) else value


def _scalar(value) -> bool:
    return isinstance(_raw(value), (bool, int, float, str)) and not isinstance(value, dg.MarkdownMetadataValue)


def _over_years(by_year: dict[int, dg.AssetCheckResult]) -> dg.AssetCheckResult:
    """One evaluation for the run, readable in the UI: a table of each year's verdict and its
    figures (no one-point plot per year and figure), the tables of what was found for the years
    that did not pass, and each year's verdict and metadata as data for `cluster-pipeline run`."""
    failed = [year for year, result in by_year.items() if not result.passed]
    shown = by_year[failed[0]] if failed else next(iter(by_year.values()))
    rows = []
    for year, result in by_year.items():
        figures = {k: _raw(v) for k, v in (result.metadata or {}).items() if _scalar(v)}
        rows.append({"year": year, "verdict": "passed" if result.passed else "NOT PASSED", **figures})
    metadata = {
        "by_year": dg.MetadataValue.md(markdown_table(pd.DataFrame(rows))),
        PASSED_BY_YEAR: dg.MetadataValue.json({str(y): r.passed for y, r in by_year.items()}),
        DETAILS_BY_YEAR: dg.MetadataValue.json(
            {str(y): {k: _raw(v) for k, v in (r.metadata or {}).items()} for y, r in by_year.items()}
        ),
    }
    for year in failed:
        for name, value in (by_year[year].metadata or {}).items():
            if not _scalar(value):
                metadata[f"{year}: {name}"] = value
    return dg.AssetCheckResult(
        asset_key=shown.asset_key,
        check_name=shown.check_name,
        passed=not failed,
        severity=shown.severity,
        description=shown.description,
        metadata=metadata,
    )


def as_metadata(value) -> dg.MetadataValue:
    """A value of DETAILS_BY_YEAR as the metadata value it was (text, number, flag or JSON)."""
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, str):
        return dg.MetadataValue.text(value)
    return dg.MetadataValue.json(value)
