"""Dagster assets and asset checks. Only :mod:`pipelines.definitions` imports this package."""
