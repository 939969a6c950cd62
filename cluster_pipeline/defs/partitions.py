import dagster as dg

# Reporting years from the strategy's baseline year to the current year.
years = dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 1 1 *", start="2014", fmt="%Y", end_offset=1)


def year_of(context) -> int:
    return int(context.partition_key)
