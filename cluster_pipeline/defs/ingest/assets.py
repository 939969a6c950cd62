"""Ingest: read a year's landing folder into text cells (the manifest is the contracts' account of them)."""

import dagster as dg

from cluster_pipeline.defs.metadata import intermediate, table_metadata
from cluster_pipeline.defs.partitions import ONE_RUN_FOR_MANY_YEARS, for_each_year, years
from cluster_pipeline.defs.resources import LandingFolder, OutputFolder
from cluster_pipeline.lib.contracts.gx_adapter import warm_up
from cluster_pipeline.lib.contracts.submissions import records_frame
from cluster_pipeline.lib.ingest.intake import intake_year
from cluster_pipeline.lib.survey.template import load_template

KINDS = load_template().kinds  # members, profile: each kind's cells are a table of their own


def cells_of(kind: str) -> str:
    return f"landed_{kind}_cells"


@dg.multi_asset(
    partitions_def=years,
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,
    group_name="ingest",
    specs=[
        intermediate(
            "landed_files",
            "every file in <landing>/<year>/ with its kind, status and rows read; unreadable files set aside "
            "with the reason.",
        ),
        *[
            intermediate(
                cells_of(kind),
                f"the {kind} rows of the year's files as text cells with lineage (file, sheet, Excel row), "
                "headers mapped to the contracts' columns, unknown columns dropped.",
            )
            for kind in KINDS
        ],
    ],
    can_subset=False,
    description="Every file in <landing>/<year>/ read as text cells with lineage (file, sheet, Excel row).",
)
def landed_files(context: dg.AssetExecutionContext, landing: LandingFolder, output: OutputFolder):
    warm_up()  # GX's import overlaps the reading; validation (same process, in-process executor) needs it next
    yield from for_each_year(context, lambda year: _land_year(year, landing, output))


def _land_year(year: int, landing: LandingFolder, output: OutputFolder):
    intake = intake_year(landing.year_dir(year), load_template(), year)
    files = records_frame(intake.files)
    path = output.write("landed_files", files, year)
    for kind in KINDS:
        cells = intake.cells[kind]
        written = output.write(cells_of(kind), cells, year)
        yield dg.MaterializeResult(asset_key=cells_of(kind), metadata=table_metadata(cells, written))
    by_status = files["status"].value_counts().to_dict()
    yield dg.MaterializeResult(
        asset_key="landed_files",
        metadata={
            **table_metadata(files, path, preview=files[["source_file", "kind", "status", "rows_read"]]),
            "files_by_status": dg.MetadataValue.json(by_status),
            "rows_read": dg.MetadataValue.int(int(files["rows_read"].sum())),
        },
    )
