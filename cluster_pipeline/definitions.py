"""The Definitions object: every area's assets, checks, jobs, schedules and sensors, found in
defs/ by Dagster's own loader (each area's module declares its objects at module level), with the
executor and the resources from the command line or the environment."""

from __future__ import annotations

from functools import cache

import dagster as dg

import cluster_pipeline.defs
from cluster_pipeline.defs.resources import resources_from_env


@cache
def found_in_defs() -> dg.Definitions:
    """dg.load_defs walks the defs package (as [tool.dg]'s defs_module declares); load_from_defs_folder
    would find the package through pyproject.toml, which an installed wheel does not carry. A function,
    not a module-level Definitions: a code location's module holds exactly one (`defs`)."""
    return dg.load_defs(cluster_pipeline.defs)


ASSETS = list(found_in_defs().assets or [])


def build_definitions(
    landing: str | None = None, output: str | None = None, warehouse: str | None = None, register: str | None = None
) -> dg.Definitions:
    # In-process by measurement (benchmarks/results/pipeline.md): a year is ~10 steps of
    # 0.1-1 s; a process per step paid 2-3 s of imports each. The UI still shows every step.
    return dg.Definitions.merge(
        found_in_defs(),
        dg.Definitions(
            executor=dg.in_process_executor, resources=resources_from_env(landing, output, warehouse, register)
        ),
    )


defs = build_definitions()
