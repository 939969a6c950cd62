"""National cluster statistics for Denmark, as a Dagster project."""
