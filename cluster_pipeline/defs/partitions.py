from collections.abc import Callable, Iterable, Iterator

import dagster as dg

# Reporting years from the strategy's baseline year to the current year.
years = dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 1 1 *", start="2014", fmt="%Y", end_offset=1)

# A backfill of many years is one run: each yearly step processes its years in turn (for_each_year),
# so imports, Great Expectations' suites and Dagster's run overhead are paid once, not once a year.
ONE_RUN_FOR_MANY_YEARS = dg.BackfillPolicy.single_run()


def year_range() -> tuple[int, int]:
    """The first and the last reporting year of the partitions."""
    keys = years.get_partition_keys()
    return int(keys[0]), int(keys[-1])


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


def _over_years(by_year: dict[int, dg.AssetCheckResult]) -> dg.AssetCheckResult:
    failed = [year for year, result in by_year.items() if not result.passed]
    shown = by_year[failed[0]] if failed else next(iter(by_year.values()))
    metadata = {PASSED_BY_YEAR: dg.MetadataValue.json({str(y): r.passed for y, r in by_year.items()})}
    for year, result in by_year.items():
        metadata.update({f"{year}: {name}": value for name, value in (result.metadata or {}).items()})
    return dg.AssetCheckResult(
        asset_key=shown.asset_key,
        check_name=shown.check_name,
        passed=not failed,
        severity=shown.severity,
        description=shown.description,
        metadata=metadata,
    )
