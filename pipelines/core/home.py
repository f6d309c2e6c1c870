"""Where modeshift keeps its state: one home directory (``MODESHIFT_HOME``, default ``./.modeshift``).

Layout::

    landing/<file_id>.<ext>            files handed to ``modeshift ingest`` (content-addressed), with
    landing/<file_id>.manifest.json    how to read each one (format, endpoint, mapping, anchor)
    lake/staged/<file_id>/             one landed file parsed: day=YYYY-MM-DD.parquet slices + quarantine
    lake/requests/day=YYYY-MM-DD/      the accepted requests of one UTC day (the request lake)
    lake/quarantine/day=YYYY-MM-DD/    rows of that day refused at the day merge (duplicates)
    lake/usage/day=YYYY-MM-DD/         per-minute counts of aggregated usage exports (no single requests)
    lake/...                           later layers (rollups, ...)
    warehouse.duckdb                   the pipeline's own DuckDB file
    materialize.lock                   held by the one materialize running on this home
    slack.lock                         held while a weekly Slack message is delivered (pipelines.delivery.slack_ledger)
    dagster/                           the Dagster instance (DAGSTER_HOME)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Home:
    """Paths of one modeshift home directory."""

    root: Path

    @classmethod
    def from_env(cls) -> Home:
        """The home named by ``MODESHIFT_HOME`` (default ``./.modeshift``), as an absolute path."""
        return cls(Path(os.environ.get("MODESHIFT_HOME", ".modeshift")).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def staged(self) -> Path:
        return self.lake / "staged"

    @property
    def requests(self) -> Path:
        return self.lake / "requests"

    @property
    def day_quarantine(self) -> Path:
        return self.lake / "quarantine"

    @property
    def cache(self) -> Path:
        """Derived files a step may rebuild at any time (never the only copy of anything)."""
        return self.root / "cache"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def config_file(self) -> Path:
        return self.root / "config.yaml"

    @property
    def materialize_lock_file(self) -> Path:
        """The lock one ``modeshift materialize`` holds for its whole run (see ``pipelines.core.run_lock``)."""
        return self.root / "materialize.lock"

    @property
    def secret_salt_file(self) -> Path:
        return self.root / "secret_salt"

    def request_day_dir(self, day: str) -> Path:
        """Directory of the accepted requests of one UTC day (``day`` as YYYY-MM-DD)."""
        return self.requests / f"day={day}"

    @property
    def rollups(self) -> Path:
        return self.lake / "rollups"

    def rollup_day_dir(self, day: str) -> Path:
        """Directory of one UTC day's rollups (``day`` as YYYY-MM-DD)."""
        return self.rollups / f"day={day}"

    @property
    def usage(self) -> Path:
        return self.lake / "usage"

    def usage_day_dir(self, day: str) -> Path:
        """Directory of one UTC day's aggregated usage minutes (``day`` as YYYY-MM-DD), merged from usage exports."""
        return self.usage / f"day={day}"

    def quarantine_day_dir(self, day: str) -> Path:
        """Directory of the rows of one UTC day refused at the day merge."""
        return self.day_quarantine / f"day={day}"

    def ensure(self) -> Home:
        """Create the directories and fail with a clear message when the home is not writable."""
        for path in (self.landing, self.staged, self.requests, self.day_quarantine, self.dagster_home):
            path.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"modeshift home {self.root} is not writable")
        return self
