"""Statistics: one asset per SQL model in dbt_like_sql/models/, its dependencies read from
the model's ref() calls, run in DuckDB over the same year's upstream Parquet."""

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.metadata import table_metadata
from cluster_pipeline.defs.partitions import ONE_RUN_FOR_MANY_YEARS, for_each_year, years
from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.publish import tables
from cluster_pipeline.lib.statistics.sql_models import Model, load_models, run_model, seed_names

ALL_INDICATORS = "all_six_indicators"
INDICATORS = set(seeds.indicator_measures())


def indicator_checks(frame: pd.DataFrame) -> list[dg.AssetCheckResult]:
    found = set(frame["indicator_id"])
    return [
        dg.AssetCheckResult(
            check_name=ALL_INDICATORS,
            passed=found == INDICATORS and len(frame) == len(INDICATORS),
            metadata={"missing": sorted(INDICATORS - found), "unexpected": sorted(found - INDICATORS)},
        )
    ]


# checks declared on the model they check: spec, and a function from the model's output to results
MODEL_CHECKS = {
    "indicator_status": (
        [
            dg.AssetCheckSpec(
                ALL_INDICATORS,
                asset="indicator_status",
                description="indicator_status holds exactly the six national indicators.",
            )
        ],
        indicator_checks,
    ),
}
PREVIEWS = {  # what a person wants to look at first
    "clusters": lambda f: f.sort_values(["companies", "cluster_id"], ascending=[False, True]),
    "indicator_status": lambda f: f[["indicator_id", "value", "target", "baseline", "status", "detail"]],
}


def model_asset(model: Model) -> dg.AssetsDefinition:
    upstream = [r for r in model.refs if r not in seed_names()]
    check_specs, run_checks = MODEL_CHECKS.get(model.name, ([], lambda frame: []))

    @dg.asset(
        name=model.name,
        deps=upstream,
        partitions_def=years,
        backfill_policy=ONE_RUN_FOR_MANY_YEARS,
        group_name="statistics",
        kinds={"duckdb", "sql", "parquet"},
        description=model.description,
        check_specs=check_specs,
        metadata={
            "sql_file": dg.MetadataValue.path(str(model.path)),
            "seeds": [r for r in model.refs if r not in upstream],
        },
    )
    def _model(context: dg.AssetExecutionContext, output: OutputFolder):
        yield from for_each_year(context, lambda year: _model_year(year, output))

    def _model_year(year: int, output: OutputFolder):
        frame = run_model(model, year, {name: output.file(name, year) for name in upstream})
        frame = frame[tables.columns(model.name)]
        schema = tables.schema(model.name)
        path = output.write(model.name, frame, year)
        preview = PREVIEWS.get(model.name, lambda f: f)(frame)
        yield dg.MaterializeResult(metadata=table_metadata(frame, path, schema, preview=preview))
        yield from run_checks(frame)

    return _model


statistics_assets = [model_asset(model) for model in load_models().values()]
