"""Where the pipeline reads and writes, from the command line or the environment: the one
home of every default and environment variable (../shared/DESIGN.md). No Dagster here, so
the commands that need none (check, explain, --help) start without it."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    variable: str  # the environment variable
    default: str

    def value(self, given: str | None = None) -> str:
        """The flag when given, else the environment, else the default."""
        return given or os.environ.get(self.variable, self.default)


LANDING = Setting("CLUSTER_PIPELINE_LANDING_DIR", "data/landing")
OUTPUT = Setting("CLUSTER_PIPELINE_OUTPUT_DIR", "data/published")
REGISTER = Setting("CLUSTER_PIPELINE_REGISTER_DIR", "data/register")
WAREHOUSE = Setting("CLUSTER_PIPELINE_WAREHOUSE_URL", "")  # empty: a SQLite file beside the Parquet output
# the Dagster instance `run`, `demo` and `ui` share: project-local unless DAGSTER_HOME is set
DAGSTER_HOME = Setting("DAGSTER_HOME", "data/dagster_home")
# failure and freshness alerts by e-mail: unset SMTP or TO means no alerts
ALERT_SMTP = Setting("CLUSTER_PIPELINE_ALERT_SMTP", "")  # host:port
ALERT_TO = Setting("CLUSTER_PIPELINE_ALERT_TO", "")  # one or more addresses, comma-separated
ALERT_FROM = Setting("CLUSTER_PIPELINE_ALERT_FROM", "cluster-pipeline@localhost")
ALERT_USER = Setting("CLUSTER_PIPELINE_ALERT_USER", "")  # SMTP login, when the server wants one
ALERT_PASSWORD = Setting("CLUSTER_PIPELINE_ALERT_PASSWORD", "")  # never logged
UI_URL = Setting("CLUSTER_PIPELINE_UI_URL", "")  # the UI's address, for links in alerts
