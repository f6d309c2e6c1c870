"""Which endpoints the weekly pictures and the Slack report feature, and the noise controls that decide it (the
``slack`` section of the settings: ``min_saving_usd``, ``top_n``, ``exclude_endpoints``)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import polars as pl

from pipelines.core.settings import Settings


@dataclass(frozen=True)
class ReportSettings:
    """The report's noise controls: minimum weekly saving in USD to list a row, rows per list, excluded endpoints
    (exact names or glob patterns such as ``test-*``)."""

    min_saving_usd: float = 50.0
    top_n: int = 5
    exclude_endpoints: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ReportSettings:
        """The controls of the validated ``slack`` settings."""
        slack = settings.slack
        return cls(
            min_saving_usd=slack.min_saving_usd, top_n=slack.top_n, exclude_endpoints=slack.exclude_endpoints
        )

    def excludes(self, endpoint: str) -> bool:
        """Whether ``endpoint`` is left out of the lists and pictures."""
        return any(fnmatch.fnmatchcase(endpoint, pattern) for pattern in self.exclude_endpoints)


def featured_endpoints(concentration: pl.DataFrame, settings: ReportSettings) -> list[str]:
    """The ``top_n`` endpoints with the largest spend of the week (rank order), excluded ones left out."""
    ranked = concentration.sort("rank")["endpoint"].to_list()
    return [endpoint for endpoint in ranked if not settings.excludes(endpoint)][: settings.top_n]
