"""Statistics: one asset per SQL model in dbt_like_sql/models/, its dependencies read from
the model's ref() calls, run in DuckDB over the same year's upstream Parquet. What each
table means (description, columns, checks, preview) is its YAML beside the SQL."""

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.metadata import declared_check, table_metadata
from cluster_pipeline.defs.partitions import ONE_RUN_FOR_MANY_YEARS, for_each_year, years
from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.statistics.sql_models import Model, load_models, run_model, seed_names

EVERY_INDICATOR = "every_indicator_in_the_seed"


def indicator_checks(frame: pd.DataFrame) -> list[dg.AssetCheckResult]:
    expected = set(seeds.indicator_measures())
    found = set(frame["indicator_id"])
    without_value = sorted(frame.loc[frame["value"].isna(), "indicator_id"])
    return [
        dg.AssetCheckResult(
            check_name=EVERY_INDICATOR,
            passed=found == expected and len(frame) == len(expected) and not without_value,
            metadata={
                "missing": sorted(expected - found),
                "unexpected": sorted(found - expected),
                "without_value": without_value,
            },
        )
    ]


# the code behind each check a model's YAML declares
CHECKS = {EVERY_INDICATOR: indicator_checks}


def model_asset(model: Model) -> dg.AssetsDefinition:
    upstream = [r for r in model.refs if r not in seed_names()]
    meaning = tables.table(model.name)
    if unknown := set(meaning.checks) - set(CHECKS):
        raise ValueError(f"{model.yaml_path.name} declares checks with no code behind them: {sorted(unknown)}")
    check_specs = [declared_check(model.name, name) for name in meaning.checks]

    @dg.asset(
        name=model.name,
        deps=upstream,
        partitions_def=years,
        backfill_policy=ONE_RUN_FOR_MANY_YEARS,
        group_name="statistics",
        kinds={"duckdb", "sql", "parquet"},
        description=meaning.description,
        check_specs=check_specs,
        metadata={
            "sql_file": dg.MetadataValue.path(str(model.path)),
            "yaml_file": dg.MetadataValue.path(str(model.yaml_path)),
            "seeds": [r for r in model.refs if r not in upstream],
        },
    )
    def _model(context: dg.AssetExecutionContext, output: OutputFolder):
        yield from for_each_year(context, lambda year: _model_year(year, output))

    def _model_year(year: int, output: OutputFolder):
        inputs = {name: output.file(name, year) for name in upstream}
        frame = run_model(model, year, inputs, declared=tables.columns(model.name))
        path = output.write(model.name, frame, year)
        schema = tables.schema(model.name)
        yield dg.MaterializeResult(metadata=table_metadata(frame, path, schema, preview=meaning.preview_of(frame)))
        for name in meaning.checks:
            yield from CHECKS[name](frame)

    return _model


statistics_assets = [model_asset(model) for model in load_models().values()]
