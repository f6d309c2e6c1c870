"""The composition root: the one place that imports the assets and binds jobs, sensors, schedules and resources."""

from __future__ import annotations

from dagster import Definitions, load_assets_from_modules

import assets.analytics
import assets.charts
import assets.fleet
import assets.ingest
import assets.profiles
import assets.recommendations
import assets.warehouse
from pipelines.ops.jobs import (
    daily_job,
    publish_analytics_job,
    refresh_warehouse_job,
    stage_files_job,
    weekly_job,
)
from pipelines.ops.report_sensors import run_failure_alert, weekly_report_sensor
from pipelines.ops.resources import ModeshiftResource
from pipelines.ops.schedules import daily_schedule, weekly_schedule
from pipelines.ops.sensors import landing_sensor

defs = Definitions(
    assets=load_assets_from_modules(
        [
            assets.ingest,
            assets.profiles,
            assets.recommendations,
            assets.fleet,
            assets.charts,
            assets.warehouse,
            assets.analytics,
        ]
    ),
    jobs=[stage_files_job, daily_job, weekly_job, refresh_warehouse_job, publish_analytics_job],
    schedules=[daily_schedule, weekly_schedule],
    sensors=[landing_sensor, weekly_report_sensor, run_failure_alert],
    resources={"modeshift": ModeshiftResource()},
)
