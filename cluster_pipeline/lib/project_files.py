"""Where the project's non-Python files live, for a source checkout and an installed wheel.

data_contracts/ and dbt_like_sql/ sit beside the package (as the design lays out). An
editable install or a checkout finds them there; a regular install finds the copies that
pyproject's data-files put under <prefix>/share/cluster_pipeline. CLUSTER_PIPELINE_PROJECT_DIR
overrides both.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

import yaml


@cache
def project_dir() -> Path:
    candidates = []
    if env := os.environ.get("CLUSTER_PIPELINE_PROJECT_DIR"):
        candidates.append(Path(env))
    candidates += [
        Path(__file__).resolve().parents[2],
        Path(sys.prefix) / "share" / "cluster_pipeline",
    ]
    for candidate in candidates:
        if (candidate / "data_contracts").is_dir():
            return candidate
    raise FileNotFoundError("cannot find data_contracts/: looked in " + ", ".join(str(c) for c in candidates))


def contracts_dir() -> Path:
    return project_dir() / "data_contracts"


def seeds_dir() -> Path:
    return project_dir() / "dbt_like_sql" / "seeds"


def read_yaml(path: Path):
    """A project YAML file (contracts, table descriptions), parsed by libyaml's C loader where the
    installed PyYAML has it: the pure-Python loader costs about a second per command."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
