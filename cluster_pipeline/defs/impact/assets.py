"""Impact: do cluster firms do better than similar firms that are not in a cluster?

    register files -> register_extract (register_manifest, register_quarantine)
    companies[every year] + register_extract -> impact_measurement (impact_estimates, impact_balance,
                                                                    impact_event_study, impact_coverage)

Both span all years: the measurement compares every reporting year's participants, so a run
for one year re-materialises it from every year published so far (it follows the companies,
hence company_identities). Without a register folder both are skipped with a message and
nothing else changes. The register is confidential: its accepted rows stay under _work/,
published tables hold aggregates only, and a blocking check enforces the disclosure rule.
"""

import math

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.metadata import declared_check, every_year, intermediate, markdown_table, table_metadata
from cluster_pipeline.defs.partitions import ONE_RUN_FOR_MANY_YEARS, year_range
from cluster_pipeline.defs.resources import WORK, OutputFolder, RegisterFolder, Warehouse
from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.impact.disclosure import disclosure_problems
from cluster_pipeline.lib.impact.measurement import measure_impact
from cluster_pipeline.lib.impact.methods import PLACEBO
from cluster_pipeline.lib.impact.register import ValidatedFiles, read_register, register_files
from cluster_pipeline.lib.publish.warehouse import replace_tables

FIRMS = "register_firms"  # accepted register rows (intermediate, confidential)
VALIDATED = "register_validated"  # each register file's validation, for the runs after (confidential)
ROWS_ACCOUNTED = "every_register_row_accounted_for"
DISCLOSURE = "aggregates_only_and_every_cell_large_enough"
BALANCE = "balance_after_matching"
PRE_TREND = "no_pre_trend_before_joining"
PLACEBO_CHECK = "placebo_finds_no_effect"


NOT_MEASURED = "not_measured"  # the metadata key of an output written without a register (year_runs reads it)


def _skipped(context: dg.AssetExecutionContext, register: RegisterFolder):
    """Nothing written: each output and each check says why. Every output is yielded, none is
    optional: Dagster 1.13's in-process executor never finishes a run in which a step downstream
    of an output left out is also downstream of a failed step (dagster-io/dagster#33661)."""
    reason = (
        f"No register files in {register.root.resolve()}: the impact measurement is skipped (set "
        f"CLUSTER_PIPELINE_REGISTER_DIR or --register); every other table is published as before."
    )
    context.log.warning(reason)
    for key in sorted(context.selected_asset_keys):
        yield dg.MaterializeResult(asset_key=key, metadata={NOT_MEASURED: reason})
    for check in context.assets_def.check_specs:
        yield dg.AssetCheckResult(
            asset_key=check.asset_key, check_name=check.name, passed=True, metadata={"not_evaluated": reason}
        )


def _publish(output: OutputFolder, warehouse: Warehouse, frames: dict[str, pd.DataFrame]):
    """Each table in one file over all years and, in one transaction, in the SQL warehouse; the
    files move into place only once the warehouse has committed, so the two never disagree."""
    with output.writing_together(frames) as paths, warehouse.connect(output) as engine:
        replace_tables(engine, {name: (frame, tables.schema(name)) for name, frame in frames.items()})
    return paths


@dg.multi_asset(
    group_name="impact",
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,  # once in a backfill's run, over every published year
    specs=[
        dg.AssetSpec(
            "register_manifest",
            kinds={"parquet", "sql"},
            description=tables.table("register_manifest").description,
        ),
        dg.AssetSpec(
            "register_quarantine",
            kinds={"parquet", "sql"},
            description=tables.table("register_quarantine").description,
        ),
        intermediate(
            FIRMS,
            "the register's accepted firm-years (confidential: read by the impact measurement only).",
        ),
    ],
    check_specs=[
        declared_check("register_manifest", ROWS_ACCOUNTED),
    ],
    description="The firm register extract read and validated against data_contracts/register.yaml with GX; "
    "a file validated in an earlier run by the same validator (its bytes, the contracts, the code) is not "
    "validated again.",
)
def register_extract(
    context: dg.AssetExecutionContext, register: RegisterFolder, output: OutputFolder, warehouse: Warehouse
):
    validated = ValidatedFiles(output.root / WORK / VALIDATED)
    extract = read_register(register.root, validated)
    if extract is None:
        yield from _skipped(context, register)
        return
    firms = output.write(FIRMS, extract.firms)
    yield dg.MaterializeResult(asset_key=FIRMS, metadata={"dagster/row_count": len(extract.firms), "path": str(firms)})
    paths = _publish(
        output, warehouse, {"register_manifest": extract.manifest, "register_quarantine": extract.quarantine}
    )
    manifest = extract.manifest
    yield dg.MaterializeResult(
        asset_key="register_manifest",
        metadata={
            **table_metadata(manifest, paths["register_manifest"], tables.schema("register_manifest")),
            "firm_years_accepted": int(manifest["rows_accepted"].sum()),
            "files_validated_in_an_earlier_run": validated.reused,
        },
    )
    yield dg.MaterializeResult(
        asset_key="register_quarantine",
        metadata=table_metadata(extract.quarantine, paths["register_quarantine"], tables.schema("register_quarantine")),
    )
    ingested = manifest[manifest["status"] == "ingested"]
    unaccounted = ingested[ingested["rows_read"] != ingested["rows_accepted"] + ingested["rows_quarantined"]]
    yield dg.AssetCheckResult(
        asset_key="register_manifest",
        check_name=ROWS_ACCOUNTED,
        passed=unaccounted.empty,
        metadata={"files_with_unaccounted_rows": unaccounted["source_file"].tolist()},
    )


def _published_companies(output: OutputFolder) -> dict[int, pd.DataFrame]:
    # every year published in the output folder, whichever years this instance knows as partitions
    first, last = year_range()
    return {year: output.read("companies", year) for year in output.years_with("companies") if first <= year <= last}


def _published_memberships(output: OutputFolder, years: list[int]) -> dict[int, pd.DataFrame]:
    """The columns the groups of participants need (services used, member type)."""
    columns = ["cluster_id", "company_id", "actor_type", "member_type", "services_used"]
    written = set(output.years_with("memberships"))
    return {year: output.read("memberships", year, columns) for year in years if year in written}


def _headline_text(estimates: pd.DataFrame) -> str:
    lines = []
    for row in estimates[estimates["headline"]].itertuples():
        shown = "suppressed" if row.suppressed else f"{row.estimate:.2f} (95% CI {row.ci_low:.2f} to {row.ci_high:.2f})"
        lines.append(f"- {row.outcome} {row.estimand}: {shown}")
    return "\n".join(lines)


def _placebo_check(estimates: pd.DataFrame) -> dg.AssetCheckResult:
    """Fails (a warning) when the placebo's interval excludes zero; not evaluated without one (no register
    year before the first reporting year, or too few firms to publish it)."""
    found = estimates[estimates["method"] == PLACEBO]
    if found.empty or found["estimate"].isna().all():
        reason = "no placebo estimate: no register year before the first reporting year, or too few firms"
        return dg.AssetCheckResult(
            asset_key="impact_estimates", check_name=PLACEBO_CHECK, passed=True, metadata={"not_evaluated": reason}
        )
    row = found.iloc[0]
    return dg.AssetCheckResult(
        asset_key="impact_estimates",
        check_name=PLACEBO_CHECK,
        severity=dg.AssetCheckSeverity.WARN,
        passed=bool(row["ci_low"] <= 0 <= row["ci_high"]),
        metadata={
            "placebo_pp": dg.MetadataValue.float(float(row["estimate"])),
            "ci_low": dg.MetadataValue.float(float(row["ci_low"])),
            "ci_high": dg.MetadataValue.float(float(row["ci_high"])),
            "years": str(row["years"]),
        },
    )


@dg.multi_asset(
    group_name="impact",
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,  # once in a backfill's run, over every published year
    specs=[
        dg.AssetSpec(
            name,
            deps=["register_manifest", FIRMS, *every_year("companies", "memberships")],
            kinds={"parquet", "sql"},
            description=tables.table(name).description,
        )
        for name in tables.MEASUREMENT_TABLES
    ],
    check_specs=[
        declared_check("impact_estimates", DISCLOSURE),
        declared_check("impact_estimates", PLACEBO_CHECK),
        declared_check("impact_balance", BALANCE),
        declared_check("impact_event_study", PRE_TREND),
    ],
    can_subset=False,
    description="The impact measurement over every published reporting year.",
)
def impact_measurement(
    context: dg.AssetExecutionContext, output: OutputFolder, warehouse: Warehouse, register: RegisterFolder
):
    companies = _published_companies(output)
    if not register_files(register.root) or not output.file(FIRMS).exists() or not companies:
        yield from _skipped(context, register)
        return
    # the firm-years are handed over, not kept here: the measurement lets them go once its panel is built
    measured = measure_impact(output.read(FIRMS), companies, _published_memberships(output, sorted(companies)))
    frames = measured.tables
    problems = disclosure_problems({**frames, **{n: output.read(n) for n in tables.REGISTER_TABLES}})
    # with problems nothing confidential is written: the check fails and the tables stay as they were
    paths = {name: output.root / name for name in frames} if problems else _publish(output, warehouse, frames)
    estimates, coverage = frames["impact_estimates"], frames["impact_coverage"]
    yield dg.MaterializeResult(
        asset_key="impact_estimates",
        metadata={
            **table_metadata(
                estimates,
                paths["impact_estimates"],
                tables.schema("impact_estimates"),
                preview=estimates.drop(columns=["detail"]),
            ),
            "headline": dg.MetadataValue.md(_headline_text(estimates)),
            "growth_firm_years_removed": dg.MetadataValue.json(measured.growth_removed),
        },
    )
    for name in ("impact_balance", "impact_event_study"):
        yield dg.MaterializeResult(
            asset_key=name, metadata=table_metadata(frames[name], paths[name], tables.schema(name))
        )
    yield dg.MaterializeResult(
        asset_key="impact_coverage",
        metadata={
            **table_metadata(coverage, paths["impact_coverage"], tables.schema("impact_coverage")),
            "link_rate": dg.MetadataValue.float(
                float(coverage["linked_to_register"].sum() / max(coverage["companies_with_cvr"].sum(), 1))
            ),
        },
    )
    yield dg.AssetCheckResult(
        asset_key="impact_estimates",
        check_name=DISCLOSURE,
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )
    yield _placebo_check(estimates)
    shown = frames["impact_balance"].dropna(subset=["smd_after"])
    worst = shown.loc[shown["smd_after"].abs().idxmax()] if len(shown) else None
    limit = seeds.thresholds()["max_balance_smd"]
    yield dg.AssetCheckResult(
        asset_key="impact_balance",
        check_name=BALANCE,
        severity=dg.AssetCheckSeverity.WARN,
        passed=bool(worst is None or abs(worst["smd_after"]) <= limit),
        metadata={
            "largest_smd_after": dg.MetadataValue.float(0.0 if worst is None else float(worst["smd_after"])),
            "covariate": "" if worst is None else f"{worst['design']}: {worst['covariate']}",
            "limit": limit,
            "above_limit": dg.MetadataValue.md(
                markdown_table(
                    shown[shown["smd_after"].abs() > limit][["design", "covariate", "smd_before", "smd_after"]]
                )
            ),
        },
    )
    p_limit = seeds.thresholds()["min_pre_trend_p_value"]
    p_value = measured.pre_trend_p_value
    studied = not math.isnan(p_value)  # one reporting year: nobody is seen joining, no event study
    yield dg.AssetCheckResult(
        asset_key="impact_event_study",
        check_name=PRE_TREND,
        severity=dg.AssetCheckSeverity.WARN,
        passed=bool(p_value >= p_limit) if studied else True,
        metadata={"p_value": dg.MetadataValue.float(p_value), "limit": p_limit}
        if studied
        else {"not_evaluated": "one reporting year published: no firm is seen joining a cluster", "limit": p_limit},
    )
