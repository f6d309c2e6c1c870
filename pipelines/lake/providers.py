"""Provider profiles: how each provider bills and scales dedicated replicas, read from a CSV
(``pipelines/config/providers.csv`` as shipped; see docs/cost-model.md#the-provider-profile).

``load_provider_profiles`` reads and checks the file; ``provider_profile`` returns the profile the settings name
for an endpoint (``provider.endpoints``: the first glob matching it, else ``provider.name``), with the settings'
overrides applied to the default provider. Every row carries its ``source`` and ``as_of`` date, and the shipped
cold start and autoscaler windows are assumptions until measured. The columns ``unit`` and ``autoscaling`` may be
left out (older files): every provider is then counted in replicas and autoscales.
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
# Columns a profiles file may leave out (older files), with the value used when absent.
OPTIONAL_PROVIDER_COLUMNS: dict[str, tuple[pl.DataType, object]] = {
    "unit": (pl.String(), "replica"),
    "autoscaling": (pl.Boolean(), True),
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
    optional = {name: kind for name, (kind, _) in OPTIONAL_PROVIDER_COLUMNS.items()}
    table = read_checked_csv(path, "provider profiles file", PROVIDER_SCHEMA, optional)
    for name, (kind, default) in OPTIONAL_PROVIDER_COLUMNS.items():
        column = pl.col(name) if name in table.columns else pl.lit(None, dtype=kind)
        table = table.with_columns(column.fill_null(pl.lit(default, dtype=kind)).alias(name))
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
    for row in table.select(*PROVIDER_SCHEMA, *OPTIONAL_PROVIDER_COLUMNS).iter_rows(named=True):
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


def provider_profile(settings: Settings, endpoint: str | None = None) -> ProviderProfile:
    """The profile ``settings`` choose for ``endpoint`` (``provider.endpoints``: the first glob matching its name;
    else, and for ``endpoint=None``, ``provider.name``), read from ``provider.profiles`` (default: the shipped
    CSV). The overrides set under ``provider:`` (``cold_start_minutes``, the scale-up and scale-down windows in
    minutes, ``scale_to_zero``, ``billing_granularity_minutes``) apply to the default provider ``provider.name``
    only; a provider chosen per endpoint is used as its profile says. An unknown name is a ``ModeshiftError``
    listing the known ones."""
    return provider_profiles_for(settings, load_provider_profiles(settings.provider_profiles_path), endpoint)


def provider_profiles_for(
    settings: Settings, profiles: dict[str, ProviderProfile], endpoint: str | None = None
) -> ProviderProfile:
    """``provider_profile`` on already loaded ``profiles`` (the weekly step reads the file once per week)."""
    section = settings.provider
    path = settings.provider_profiles_path
    name = section.name if endpoint is None else section.provider_name_for(endpoint)
    profile = profiles.get(name)
    if profile is None:
        chooser = "provider.name is" if name == section.name else f"provider.endpoints chooses for {endpoint}"
        raise ModeshiftError(
            f"{chooser} {name!r}, which {path} does not list.",
            f"Known providers: {', '.join(sorted(profiles))}.",
        )
    if name != section.name:
        return profile
    overrides = {
        field: getattr(section, field) for field in OVERRIDABLE_FIELDS if getattr(section, field) is not None
    }
    if not overrides:
        return profile
    try:
        return dataclasses.replace(profile, **overrides)
    except ValueError as error:
        raise ModeshiftError(f"The provider overrides in the settings are not valid: {error}.") from None


def endpoint_provider_frame(settings: Settings, endpoints: list[str]) -> pl.DataFrame:
    """One row per endpoint (in the order given) with ``provider``: the provider whose rate-card rows price it
    (``provider.endpoints``, else ``provider.name``), as the rollup joins the rate card."""
    return pl.DataFrame(
        {"endpoint": endpoints, "provider": [settings.provider.provider_name_for(e) for e in endpoints]},
        schema={"endpoint": pl.String, "provider": pl.String},
    )
