"""The Dagster resource every asset uses to find the modeshift home and its settings."""

from __future__ import annotations

from dagster import ConfigurableResource

from pipelines.core.home import Home
from pipelines.core.settings import Settings


class ModeshiftResource(ConfigurableResource):
    """Where modeshift keeps its state. ``home_dir`` empty means ``MODESHIFT_HOME`` (default ``./.modeshift``)."""

    home_dir: str = ""

    def home(self) -> Home:
        """The home directory, created if needed."""
        from pathlib import Path

        return (Home(Path(self.home_dir).resolve()) if self.home_dir else Home.from_env()).ensure()

    def settings(self) -> Settings:
        """The home's settings (shipped defaults overlaid with config.yaml)."""
        return Settings.load(self.home())
