"""Which partitions are stale: every partitioned output records a fingerprint of what it was built from, and a
partition is pending when the fingerprint of its current inputs differs (new data, a late file, a new rate card,
changed settings). Fingerprints chain: day merge → daily rollup → week → next week (history feeds the policy)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipelines.core.atomic import read_json
from pipelines.core.calendar import week_days, week_start_of
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.day_merge import manifest_path as day_manifest_path
from pipelines.ingest.usage_merge import merged_usage_days, read_usage_merged
from pipelines.lake.commitment_terms import commitment_terms_fingerprint
from pipelines.lake.providers import provider_profiles_fingerprint
from pipelines.lake.rate_card import rate_card_fingerprint
from pipelines.lake.replica_capacity import replica_capacity_fingerprint
from pipelines.lake.weekly_store import recorded_week_fingerprint

# Bump when the meaning of an output changes, so that every existing partition is rebuilt.
# 2: first/last arrival per minute, serverless latency histograms per hour, stream = false is a signal
# 3: ok cached input tokens per minute, priced at the card's cached input price and weighted by
#    capacity.cached_input_weight; billed_requests per minute; aggregated usage minutes (bucket_requests,
#    bucket_width_s)
# 4: billed_ok_requests, billed_ok_cost_usd, billed_list_cost_usd per minute (effective prices)
ROLLUP_VERSION = "rollup-4"
WEEK_VERSION = "week-4"  # 2: recommendations.gpus_per_replica; 3: every serverless figure at the price basis;
# 4: an endpoint billed on its own is costed at its own effective price


def fingerprint(payload: Any) -> str:
    """A short, stable hash of a JSON-able value."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def day_fingerprint(home: Home, day: str) -> str | None:
    """The version of a merged day (None when the day has no data: it is *missing*): its inputs with their counts,
    and which rows it quarantined as duplicates, so that a day whose duplicates moved (a neighbouring day of its
    dedupe window changed) is rolled up again; a day without duplicates keeps the fingerprint it always had."""
    manifest = read_json(day_manifest_path(home, day))
    requests_version = None
    if manifest is not None and manifest["inputs"]:
        digest = str(manifest.get("duplicates_digest", "0"))
        requests_version = (
            fingerprint(manifest["inputs"]) if digest == "0" else fingerprint([manifest["inputs"], digest])
        )
    # aggregated usage merged for the day (docs/metrics.md#aggregated-sources): a day with only usage is covered
    usage = read_usage_merged(home, day)
    if usage is None or usage.accepted == 0:
        return requests_version
    return fingerprint([requests_version, {k: asdict(v) for k, v in sorted(usage.inputs.items())}])


def covered_days(home: Home) -> list[str]:
    """Every UTC day with merged data (requests or aggregated usage), in order."""
    days = {p.parent.name.removeprefix("day=") for p in home.requests.glob("day=*/_manifest.json")}
    days |= set(merged_usage_days(home))
    return [day for day in sorted(days) if day_fingerprint(home, day) is not None]


def rollup_fingerprint(home: Home, settings: Settings, day: str) -> str | None:
    """What a day's rollup must be built from: the merged day, the rate card, which provider's rows price each
    endpoint (``provider.name`` and ``provider.endpoints``) and the weight of a cached input token
    (``capacity.cached_input_weight``)."""
    version = day_fingerprint(home, day)
    if version is None:
        return None
    choice = [settings.provider.name, list(settings.provider.endpoints.items())]
    weight = settings.capacity.cached_input_weight
    return fingerprint(
        [ROLLUP_VERSION, version, rate_card_fingerprint(settings.rate_card_path), choice, weight]
    )


def recorded_fingerprint(manifest_file: Path) -> str | None:
    """The fingerprint an output recorded when it was built (None when it was never built)."""
    manifest = read_json(manifest_file)
    return manifest.get("fingerprint") if manifest else None


def weeks_with_data(home: Home) -> list[date]:
    """Monday of every week that has at least one covered day, in order."""
    return sorted({week_start_of(date.fromisoformat(day)) for day in covered_days(home)})


def week_fingerprint(home: Home, settings: Settings, week_start: date, previous: str | None) -> str:
    """What a week's outputs must be built from: its days' rollups, the settings, the provider profiles, replica
    capacity and commitment terms files, and the previous week's outputs (``previous``, since week-over-week change and the policy's
    history read it)."""
    days = {day: rollup_fingerprint(home, settings, day) for day in week_days(week_start)}
    settings_part = settings.model_dump(
        mode="json",
        include={
            "profiles",
            "policy",
            "deployments",
            "schedules",
            "jobs",
            "slos",
            "provider",
            "pools",
            "commitments",
            "pricing",
        },
    )
    files = {
        "provider_profiles": provider_profiles_fingerprint(settings.provider_profiles_path),
        "replica_capacity": replica_capacity_fingerprint(settings.replica_capacity_path),
        "commitment_terms": commitment_terms_fingerprint(settings.commitment_terms_path),
    }
    return fingerprint([WEEK_VERSION, days, settings_part, files, previous])


def expected_week_fingerprints(home: Home, settings: Settings) -> dict[date, str]:
    """The fingerprint every week from the first with data to the last must carry, chained week to week."""
    weeks = weeks_with_data(home)
    if not weeks:
        return {}
    fingerprints: dict[date, str] = {}
    previous = None
    week = weeks[0]
    while week <= weeks[-1]:
        previous = week_fingerprint(home, settings, week, previous)
        fingerprints[week] = previous
        week += timedelta(days=7)
    return fingerprints


def pending_rollup_days(home: Home, settings: Settings) -> list[str]:
    """Covered days whose rollup is missing or was built from other data or another rate card."""
    return [
        day
        for day in covered_days(home)
        if recorded_fingerprint(home.rollup_day_dir(day) / "_manifest.json")
        != rollup_fingerprint(home, settings, day)
    ]


def pending_weeks(home: Home, settings: Settings, tables: tuple[str, ...]) -> list[date]:
    """Weeks with data where any of the weekly ``tables`` is missing or stale, oldest first."""
    with_data = set(weeks_with_data(home))
    return [
        week
        for week, expected in expected_week_fingerprints(home, settings).items()
        if week in with_data and any(recorded_week_fingerprint(home, t, week) != expected for t in tables)
    ]
