"""modeshift settings: the shipped defaults (``pipelines/config/defaults.yaml``) overlaid with the user's
``$MODESHIFT_HOME/config.yaml``. Thresholds live here, not in code."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ModeshiftError(f"{origin} is not valid YAML{where}.", "Fix the file or remove it.") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ModeshiftError(f"{origin} must hold a mapping of settings, not a {type(loaded).__name__}.")
    return loaded


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_settings_mapping() -> dict[str, Any]:
    """The shipped defaults as a nested mapping."""
    text = (resources.files("pipelines") / "config" / "defaults.yaml").read_text(encoding="utf-8")
    return _read_yaml(text, "the shipped defaults.yaml")


def shipped_rate_card_path() -> Path:
    """Path of the rate card shipped with modeshift (CSV)."""
    return Path(str(resources.files("pipelines") / "config" / "rate_card.csv"))


@dataclass(frozen=True)
class Settings:
    """Every tunable of a modeshift home, as a nested mapping plus typed accessors for the common ones."""

    values: dict[str, Any]
    rate_card_path: Path

    @classmethod
    def load(cls, home: Home) -> Settings:
        """Defaults overlaid with ``home.config_file`` when it exists; clear errors for a bad file."""
        values = default_settings_mapping()
        if home.config_file.exists():
            override = _read_yaml(home.config_file.read_text(encoding="utf-8"), str(home.config_file))
            values = _deep_merge(values, override)
        rate_card = values.get("rate_card")
        rate_card_path = Path(rate_card).expanduser() if rate_card else shipped_rate_card_path()
        if not rate_card_path.is_file():
            raise ModeshiftError(
                f"The rate card {rate_card_path} does not exist.",
                "Point 'rate_card' in config.yaml to a CSV file, or remove the key to use the shipped one.",
            )
        return cls(values=values, rate_card_path=rate_card_path)

    def section(self, name: str) -> dict[str, Any]:
        """One top-level section of the settings (an empty mapping when absent)."""
        section = self.values.get(name) or {}
        if not isinstance(section, dict):
            raise ModeshiftError(f"The '{name}' section of config.yaml must be a mapping.")
        return section

    @property
    def start_date(self) -> date:
        """First UTC day modeshift accepts data for."""
        return date.fromisoformat(str(self.section("ingest")["start_date"]))

    @property
    def max_future_hours(self) -> float:
        """Rows stamped more than this many hours after their file landed are quarantined."""
        return float(self.section("ingest")["max_future_hours"])

    @property
    def max_name_length(self) -> int:
        """Longest endpoint, model or client name accepted, in characters."""
        return int(self.section("ingest")["max_name_length"])

    @property
    def gzip_max_ratio(self) -> float:
        """Largest decompressed size of a gzip file as a multiple of its compressed size (above the floor)."""
        return float(self.section("ingest")["gzip_max_ratio"])

    @property
    def gzip_min_cap_bytes(self) -> int:
        """Decompressed bytes every gzip file may reach whatever its ratio (the floor of the cap), in bytes."""
        return int(self.section("ingest")["gzip_min_cap_bytes"])

    @property
    def max_record_bytes(self) -> int:
        """Longest record the record-by-record reader accepts, in bytes (decompressed)."""
        return int(self.section("ingest")["max_record_bytes"])
