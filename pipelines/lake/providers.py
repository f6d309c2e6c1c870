"""Provider profiles: how each provider bills and scales dedicated replicas, read from a CSV
(``pipelines/config/providers.csv`` as shipped; see docs/cost-model.md#the-provider-profile).

``load_provider_profiles`` reads and checks the file; ``provider_profile`` returns the profile the settings name
(``provider.name``) with the settings' overrides applied. Every row carries its ``source`` and ``as_of`` date, and
the shipped cold start and autoscaler windows are assumptions until measured.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import polars as pl

from pipelines.core.errors import ModeshiftError
from pipelines.core.settings import Settings
from pipelines.domain.provider import ProviderProfile
from pipelines.lake.csv_tables import read_checked_csv

PROVIDER_SCHEMA: dict[str, pl.DataType] = {
    "name": pl.String(),
    "billing_granularity_minutes": pl.Int64(),
    "min_replicas_while_running": pl.Int64(),
    "scale_to_zero": pl.Boolean(),
    "cold_start_minutes": pl.Int64(),
    "scale_up_window_minutes": pl.Int64(),
    "scale_down_window_minutes": pl.Int64(),
    "source": pl.String(),
    "as_of": pl.Date(),
}
# The fields settings may override (provider.<field> in config.yaml), in the order the docs list them.
OVERRIDABLE_FIELDS: tuple[str, ...] = (
    "billing_granularity_minutes",
    "scale_to_zero",
    "cold_start_minutes",
    "scale_up_window_minutes",
    "scale_down_window_minutes",
)


def load_provider_profiles(path: Path) -> dict[str, ProviderProfile]:
    """Read and check a provider profiles CSV: one row per provider name, every column filled in; a clear
    ``ModeshiftError`` names the file and the first problem found (durations in minutes)."""
    table = read_checked_csv(path, "provider profiles file", PROVIDER_SCHEMA)
    if table.height == 0:
        raise ModeshiftError(f"The provider profiles file {path} has no rows.", "Add at least one provider.")
    for column in PROVIDER_SCHEMA:
        if table[column].null_count():
            raise ModeshiftError(
                f"The provider profiles file {path} has rows without {column}.", "Every row needs it."
            )
    duplicated = table.filter(pl.col("name").is_duplicated())["name"].unique().sort().to_list()
    if duplicated:
        raise ModeshiftError(
            f"The provider profiles file {path} lists {', '.join(duplicated)} more than once.",
            "Keep one row per provider.",
        )
    profiles: dict[str, ProviderProfile] = {}
    for row in table.select(*PROVIDER_SCHEMA).iter_rows(named=True):
        try:
            profiles[row["name"]] = ProviderProfile(**row)
        except ValueError as error:
            raise ModeshiftError(
                f"The provider profiles file {path}, provider {row['name']}: {error}."
            ) from None
    return profiles


def provider_profiles_fingerprint(path: Path) -> str:
    """A short hash of the provider profiles file, so outputs built from an older file are recomputed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def provider_profile(settings: Settings) -> ProviderProfile:
    """The profile named by ``provider.name`` in ``settings``, read from ``provider.profiles`` (default: the shipped
    CSV), with every override set under ``provider:`` applied (``cold_start_minutes``, the scale-up and
    scale-down windows in minutes, ``scale_to_zero``, ``billing_granularity_minutes``). An unknown name is a
    ``ModeshiftError`` listing the known ones."""
    section = settings.provider
    path = settings.provider_profiles_path
    profiles = load_provider_profiles(path)
    profile = profiles.get(section.name)
    if profile is None:
        raise ModeshiftError(
            f"provider.name is {section.name!r}, which {path} does not list.",
            f"Known providers: {', '.join(sorted(profiles))}.",
        )
    overrides = {
        field: getattr(section, field) for field in OVERRIDABLE_FIELDS if getattr(section, field) is not None
    }
    if not overrides:
        return profile
    try:
        return dataclasses.replace(profile, **overrides)
    except ValueError as error:
        raise ModeshiftError(f"The provider overrides in the settings are not valid: {error}.") from None
