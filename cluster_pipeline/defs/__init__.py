"""Dagster definitions by area: ingest, contracts, companies, statistics, publish."""
