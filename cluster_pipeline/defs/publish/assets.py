"""Publish: the year's published tables copied to the SQL warehouse in one transaction, the
yearly statistics report, and over all years the release (with the figures it revised) and
the statistics site."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.conditions import follows
from cluster_pipeline.defs.metadata import every_year, intermediate, markdown_table, table_metadata
from cluster_pipeline.defs.partitions import ONE_RUN_FOR_MANY_YEARS, for_each_year, years
from cluster_pipeline.defs.resources import OutputFolder, Warehouse
from cluster_pipeline.lib import tables
from cluster_pipeline.lib.publish import cubes
from cluster_pipeline.lib.publish.impact_section import ImpactSection, impact_section
from cluster_pipeline.lib.publish.releases import causes, new_release
from cluster_pipeline.lib.publish.report import indicator_differences, indicators_in_report, write_report
from cluster_pipeline.lib.publish.report_figures import report_figures
from cluster_pipeline.lib.publish.statistics_site import published_figures, release_inputs, write_site
from cluster_pipeline.lib.publish.warehouse import replace_tables, replace_year


@dg.asset(
    partitions_def=years,
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,
    group_name="publish",
    kinds={"sql"},
    deps=list(tables.TABLES),
    # a year's tables re-published after the identities changed are copied again
    automation_condition=follows(dg.AutomationCondition.any_deps_updated(), "a published table updated since"),
    description="Every published table in the SQL database (SQLite beside the Parquet by default, PostgreSQL by "
    "CLUSTER_PIPELINE_WAREHOUSE_URL): one table each with a year column; the year is replaced in one transaction.",
)
def sql_warehouse(context: dg.AssetExecutionContext, output: OutputFolder, warehouse: Warehouse):
    yield from for_each_year(context, lambda year: _copy_year(year, output, warehouse))


def _copy_year(year: int, output: OutputFolder, warehouse: Warehouse):
    frames = {name: (output.read(name, year), tables.schema(name)) for name in tables.TABLES}
    with warehouse.connect(output) as engine:
        try:
            written = replace_year(engine, year, frames)
        except Exception as exc:  # the transaction rolled back: say which copy is behind and how it catches up
            raise dg.Failure(
                description=f"{year} was not copied to the SQL warehouse ({type(exc).__name__}: {exc}). The "
                f"warehouse still holds its previous copy of {year}; the Parquet files are newer. The next run of "
                f"sql_warehouse for {year} copies every table again."
            ) from exc
    summary = pd.DataFrame({"table": list(written), "rows": list(written.values())})
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(int(summary["rows"].sum())),
            "database": dg.MetadataValue.text(engine.url.render_as_string(hide_password=True)),
            "tables": dg.MetadataValue.md(markdown_table(summary, max_rows=20)),
        }
    )


REPORT_MATCHES = "report_shows_indicator_status"


@dg.asset(
    partitions_def=years,
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,
    group_name="publish",
    kinds={"html"},
    deps=[
        "indicator_status",
        "national_outcomes",
        "regional_outcomes",
        "clusters",
        "cluster_outcomes",
        "ingest_manifest",
        "quarantine",
        "memberships",
        "service_intensity",
        "impact_estimates",
        "impact_balance",
        "impact_event_study",
        "impact_coverage",
    ],
    check_specs=[
        dg.AssetCheckSpec(
            REPORT_MATCHES,
            asset="yearly_report",
            blocking=True,
            description="The indicator values and statuses the report shows equal indicator_status.",
        )
    ],
    description="The yearly statistics report for people who do not write SQL: <output>/reports/<year>.html, one "
    "self-contained file (charts as inline SVG) with the indicators against their targets, the outcomes over the "
    "years, regions, clusters and labels, data quality, whether cluster firms do better than similar firms (the "
    "impact measurement, when there is one) and method. Every figure is read from the published tables.",
)
def yearly_report(context: dg.AssetExecutionContext, output: OutputFolder):
    impact = impact_section(output.root)  # the same in every year's report: its charts drawn once
    yield from for_each_year(context, lambda year: _report_year(year, output, context.run.run_id, impact))


def _report_year(year: int, output: OutputFolder, run_id: str, impact: ImpactSection):
    figures = report_figures(output.root, year, impact)
    path = write_report(figures, output.root / "reports", run_id)
    shown = indicators_in_report(path.read_text(encoding="utf-8"))
    summary = pd.DataFrame([{"indicator": i, "value": v, "status": s} for i, (v, s) in shown.items()])
    yield dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path.resolve())),
            "size_kb": round(path.stat().st_size / 1024, 1),
            "years_shown": dg.MetadataValue.json(figures.years),
            "summary": dg.MetadataValue.md(
                f"Report for {year}: {int(figures.national.loc[year, 'companies']):,} distinct "
                f"companies.\n\n" + markdown_table(summary)
            ),
        }
    )
    different = indicator_differences(path.read_text(encoding="utf-8"), output.read("indicator_status", year))
    yield dg.AssetCheckResult(
        check_name=REPORT_MATCHES,
        passed=not different,
        metadata={"indicators_differing": dg.MetadataValue.json(different)},
    )


RELEASE_FIGURES = "release_figures"  # the figures as the latest release published them (intermediate)
RELEASE_INPUTS = "release_inputs"  # what they were computed from, for the next release's causes (intermediate)
RELEASE_TABLES = ["releases", "revisions"]
# the yearly statistics and what their causes are read from (every year of each)
RELEASED_FROM = every_year(
    *[n for n in cubes.STATISTICS if tables.table(n).scope == "year"], "ingest_manifest", "memberships"
)


@dg.multi_asset(
    group_name="publish",
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,  # once in a backfill's run, over every published year
    specs=[
        *[
            dg.AssetSpec(
                name,
                deps=[*RELEASED_FROM, "register_manifest", "impact_estimates"],
                kinds={"parquet", "sql"},
                description=tables.table(name).description,
            )
            for name in RELEASE_TABLES
        ],
        # what the next release compares with, written only with a release
        intermediate(
            RELEASE_FIGURES,
            "every figure of the statistics as the latest release published it.",
            deps=[*RELEASED_FROM, "impact_estimates"],
        ),
        intermediate(
            RELEASE_INPUTS,
            "the files, rows and company ids the latest release was computed from (for the next one's causes).",
            deps=[*RELEASED_FROM, "register_manifest"],
        ),
    ],
    can_subset=False,
    description="A release when a published figure changed since the last one, with the figures it revised.",
)
def releases(context: dg.AssetExecutionContext, output: OutputFolder, warehouse: Warehouse):
    root = output.root
    figures = published_figures(root)
    inputs = release_inputs(root)
    earlier = output.read("releases")
    made = new_release(
        output.read(RELEASE_FIGURES),
        figures,
        earlier,
        causes(output.read(RELEASE_INPUTS), inputs),
        datetime.now(UTC),
        context.run.run_id,
    )
    if made is not None:
        published = {
            "releases": pd.concat([earlier, pd.DataFrame([made.release])], ignore_index=True),
            "revisions": pd.concat([output.read("revisions"), made.revisions], ignore_index=True),
        }
        # the figures compared next time move into place with the release, never one without the other
        together = {**published, RELEASE_FIGURES: figures, RELEASE_INPUTS: inputs}
        with output.writing_together(together) as paths, warehouse.connect(output) as engine:
            replace_tables(engine, {name: (frame, tables.schema(name)) for name, frame in published.items()})
        yield dg.MaterializeResult(asset_key=RELEASE_FIGURES, metadata=table_metadata(figures, paths[RELEASE_FIGURES]))
        yield dg.MaterializeResult(asset_key=RELEASE_INPUTS, metadata=table_metadata(inputs, paths[RELEASE_INPUTS]))
    else:  # yielded all the same: no output of the graph is optional (defs/impact/assets._skipped says why)
        for key in (RELEASE_FIGURES, RELEASE_INPUTS):
            yield dg.MaterializeResult(asset_key=key, metadata={"unchanged": "no new release: as the last one left it"})
    shown = output.read("releases")
    revisions = output.read("revisions")
    summary = (
        "no published figure changed: no new release"
        if made is None
        else (
            f"release {made.release_id}: {made.release['figures_changed']:,} figures added or changed, "
            f"{len(made.revisions):,} of them revised"
        )
    )
    context.log.info(summary)
    yield dg.MaterializeResult(
        asset_key="releases",
        metadata={
            **table_metadata(shown, output.file("releases"), tables.schema("releases")),
            "new_release": dg.MetadataValue.text(summary),
        },
    )
    yield dg.MaterializeResult(
        asset_key="revisions",
        metadata=table_metadata(
            revisions if revisions is not None else tables.schema("revisions").empty_table().to_pandas(),
            output.file("revisions"),
            tables.schema("revisions"),
            preview=None if revisions is None else tables.table("revisions").preview_of(revisions),
        ),
    )


@dg.asset(
    group_name="publish",
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,  # once in a backfill's run, after every year's report
    kinds={"html"},
    # every table the site offers (releases and revisions among them), of every year
    deps=[*every_year("yearly_report", *tables.TABLES), *tables.ALL_YEARS_TABLES],
    description="The statistics site: <output>/site/, one folder that works from disk and any static web server. A "
    "front page, a national page, regions and the cluster catalogue per year, a page per cluster against all "
    "clusters and its peers, and downloads: every table per year as CSV and Parquet, every statistic as JSON-stat "
    "(English and Danish) and PX, releases and revisions.",
)
def statistics_site(context: dg.AssetExecutionContext, output: OutputFolder):
    written = write_site(output.root, datetime.now(UTC))
    index = written["path"] / "index.html"
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(index.resolve())),
            "url": dg.MetadataValue.url(index.resolve().as_uri()),
            "pages": written["pages"],
            "cluster_pages": len(written["profiles"]),
            "summary": dg.MetadataValue.md(
                f"{written['pages']} pages for {', '.join(map(str, written['years']))}: "
                f"{len(written['profiles'])} cluster pages, downloads in `site/data/`. Open `{index.resolve()}`."
            ),
            "cluster_profiles": dg.MetadataValue.md(markdown_table(written["profiles"], max_rows=60)),
        }
    )
