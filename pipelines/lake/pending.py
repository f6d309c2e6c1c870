"""What is pending, in the order it must be built: landed files not staged yet, then days whose merge or rollup is
stale, then weeks whose tables are stale (oldest first: later weeks read earlier ones). Used by the in-process
runner (``modeshift materialize``) and by the landing sensor alike."""

from __future__ import annotations

from datetime import date

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.day_merge import pending_days
from pipelines.ingest.failures import failed_files
from pipelines.ingest.landing import LandedFile, landed_files
from pipelines.ingest.staging import all_staged
from pipelines.ingest.usage_merge import pending_usage_days
from pipelines.lake.lineage import pending_rollup_days, pending_weeks
from pipelines.lake.weekly_store import WEEKLY_TABLES


def files_to_stage(home: Home) -> list[LandedFile]:
    """Landed files that have no committed staging yet and were not set aside as failed, in landing order."""
    staged_ids = {staged.file_id for staged in all_staged(home)}
    set_aside = failed_files(home)
    return [
        landed
        for landed in landed_files(home)
        if landed.file_id not in staged_ids and landed.file_id not in set_aside
    ]


def days_to_build(home: Home, settings: Settings) -> list[str]:
    """UTC days (YYYY-MM-DD, in order) whose day merge (of requests or of aggregated usage) or daily rollup is
    missing or built from other inputs."""
    return sorted(
        set(pending_days(home, settings.dedupe_window))
        | set(pending_usage_days(home))
        | set(pending_rollup_days(home, settings))
    )


def weeks_to_build(home: Home, settings: Settings) -> list[date]:
    """Weeks with data whose weekly tables are missing or stale, oldest first."""
    return pending_weeks(home, settings, WEEKLY_TABLES)
