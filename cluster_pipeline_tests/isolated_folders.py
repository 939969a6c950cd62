"""Tests never read or write the checkout's data/ (the demo fills it): imported by conftest
before the definitions read the environment, every default folder points into an empty
temporary one, so each test names its own landing, register and output or gets nothing."""

import os
import tempfile
from pathlib import Path

from cluster_pipeline import settings

ROOT = tempfile.mkdtemp(prefix="cluster_pipeline_tests_")
for setting in (settings.LANDING, settings.OUTPUT, settings.REGISTER, settings.DAGSTER_HOME):
    os.environ[setting.variable] = os.path.join(ROOT, Path(setting.default).name)
os.makedirs(os.environ[settings.DAGSTER_HOME.variable], exist_ok=True)
os.environ.pop(settings.WAREHOUSE.variable, None)  # a SQLite file beside each test's own output
