import dagster as dg

# Reporting years from the strategy's baseline year to the current year.
years = dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 1 1 *", start="2014", fmt="%Y", end_offset=1)


def year_range() -> tuple[int, int]:
    """The first and the last reporting year of the partitions."""
    keys = years.get_partition_keys()
    return int(keys[0]), int(keys[-1])


def year_of(context) -> int:
    return int(context.partition_key)
