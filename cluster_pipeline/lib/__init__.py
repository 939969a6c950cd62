"""Pure logic of the pipeline: no Dagster in here, so every piece is tested directly."""
