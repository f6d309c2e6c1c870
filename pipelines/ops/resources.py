"""The Dagster resource every asset uses to find the modeshift home and its settings."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from pipelines.core.home import Home
from pipelines.core.settings import Settings


class ModeshiftResource(ConfigurableResource):
    """Where modeshift keeps its state. ``home_dir`` empty means ``MODESHIFT_HOME`` (default ``./.modeshift``).

    The settings are loaded and validated once per run or sensor tick, when the resource is set up, so a bad
    config.yaml fails there with its one-line ``ModeshiftError`` before any step computes anything."""

    home_dir: str = ""
    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Load the settings before the first step (a bad config.yaml fails the resource, not a step)."""
        self.settings()

    def home(self) -> Home:
        """The home directory, created if needed."""
        return (Home(Path(self.home_dir).resolve()) if self.home_dir else Home.from_env()).ensure()

    def settings(self) -> Settings:
        """The home's validated settings (shipped defaults overlaid with config.yaml), loaded once."""
        if self._settings is None:
            self._settings = Settings.load(self.home())
        return self._settings
