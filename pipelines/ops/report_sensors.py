"""The sensors that talk to Slack: ``weekly_report_sensor`` (one message per week of recommendations, once) and
``run_failure_alert`` (a short alert per failed run). Both deliver through ``pipelines.delivery.slack_delivery``: without
``SLACK_BOT_TOKEN`` they write what they would have sent under ``$MODESHIFT_HOME/reports/slack/`` (dry run).

Which weeks are ready is read from the Dagster instance's event log, not from the pipeline's DuckDB file: for
each week (partition of ``recommendations``) the *latest* materialization, and the asset check evaluations of the
run that produced it. A week is ready when every check that run planned for ``recommendations`` has been evaluated
against that very materialization (the evaluation's target storage id) and no blocking one failed. Reading the
check evaluations rather than the run's status keeps two cases right: a run whose recommendations passed but whose
later backtest step failed still reports its week, and a week is reported as soon as its checks passed, without
waiting for the rest of the run. A week whose latest materialization failed a blocking check is never reported
(until a later materialization passes); one whose run ended without evaluating a planned check is treated as failed.

The cursor (JSON) records per week what was delivered: status (``sent``, ``dry_run`` or ``retrying``), the
materialization it was built from, the tries, the last error (token redacted) and the delivery progress (message
ts, pictures uploaded), so a failed post is retried on the next tick and a posted message is never posted again.
The same entries go to the shared ledger (``pipelines.delivery.slack_ledger``) that ``modeshift slack`` reads and
writes too: a week either of them delivered is not delivered again by the other.

Which weeks: the cursor records when the sensor first ran (``switched_on_at``, its first tick) and the first week it
reports, ``first_week``: ``slack.start_week`` when set, else the week of the switch-on, so only weeks finished
after the sensor was turned on are posted (turning it on over a year of history posts nothing old). A week already
in the cursor (tried before) is always seen through, whatever the start. The weeks before the start are listed in
the cursor (``before_start``), never posted (unless ``slack.start_week`` is moved back before them).

The week's message waits for the run's backtest: when the run that materialized the week's recommendations also
planned its ``backtest`` and is still going without having materialized it, the week waits for the next tick (a run
that ended without it is reported without it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from logging import Logger
from typing import Any

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)

from pipelines.core.calendar import week_start_of
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.delivery.charts import week_overview_png
from pipelines.delivery.slack_delivery import (
    Attachment,
    Delivery,
    DeliveryError,
    RetryPolicy,
    SlackTarget,
    deliver,
    dry_run_path,
)
from pipelines.delivery.slack_ledger import DONE, newer, read_ledger, record_week, slack_lock
from pipelines.delivery.slack_report import failure_alert_message, load_week_report, report_message
from pipelines.lake.step_inputs import report_inputs
from pipelines.ops.resources import ModeshiftResource
from pipelines.ops.run_errors import error_line

RECOMMENDATIONS = AssetKey("recommendations")
BACKTEST = AssetKey("backtest")
CURSOR_VERSION = 2
READABLE_CURSOR_VERSIONS = (1, 2)  # version 1 had no switch-on: the first tick of version 2 records it


# ------------------------------------------------------------------------------------ reading the event log


@dataclass(frozen=True)
class WeekMaterialization:
    """The latest materialization of one week: partition key (week start), event storage id and run id."""

    week: str
    storage_id: int
    run_id: str


@dataclass(frozen=True)
class CheckVerdict:
    """What the checks of one materialization say: ``passed``, ``failed`` (a blocking check failed, or the run
    ended without evaluating one it planned) or ``pending`` (the run is still evaluating them)."""

    state: str
    failed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def latest_materializations(
    instance: DagsterInstance, weeks: set[str] | None = None, asset_key: AssetKey = RECOMMENDATIONS
) -> dict[str, WeekMaterialization]:
    """The latest materialization of each partition of ``asset_key`` (only ``weeks`` when given)."""
    latest = instance.get_latest_storage_id_by_partition(asset_key, DagsterEventType.ASSET_MATERIALIZATION)
    wanted = {week: storage_id for week, storage_id in latest.items() if weeks is None or week in weeks}
    if not wanted:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, storage_ids=list(wanted.values())), limit=len(wanted)
    ).records
    return {
        record.partition_key: WeekMaterialization(record.partition_key, record.storage_id, record.run_id)
        for record in records
        if record.partition_key is not None
    }


def check_verdict(
    instance: DagsterInstance, materialization: WeekMaterialization, asset_key: AssetKey = RECOMMENDATIONS
) -> CheckVerdict:
    """Whether the checks the materializing run planned for ``asset_key`` passed on this materialization."""
    events = instance.get_records_for_run(
        materialization.run_id,
        of_type={DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, DagsterEventType.ASSET_CHECK_EVALUATION},
    ).records
    planned: set[str] = set()
    evaluations: dict[str, Any] = {}
    for record in events:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data if event is not None else None
        if data is None or data.asset_key != asset_key:
            continue
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            planned.add(data.check_name)
            continue
        target = data.target_materialization_data
        if target is None or target.storage_id == materialization.storage_id:
            evaluations[data.check_name] = data
    failed = tuple(sorted(name for name, e in evaluations.items() if not e.passed and e.blocking))
    missing = tuple(sorted(planned - set(evaluations)))
    if failed:
        return CheckVerdict("failed", failed, missing)
    if missing:
        run = instance.get_run_by_id(materialization.run_id)
        finished = run is None or run.is_finished
        return CheckVerdict("failed" if finished else "pending", missing, missing)
    return CheckVerdict("passed")


def backtest_pending(instance: DagsterInstance, materialization: WeekMaterialization) -> bool:
    """Whether the run that materialized the week's recommendations planned the week's backtest, has not
    materialized it yet and is still going (the message would otherwise go out without its backtest line)."""
    records = instance.get_records_for_run(
        materialization.run_id,
        of_type={DagsterEventType.ASSET_MATERIALIZATION_PLANNED, DagsterEventType.ASSET_MATERIALIZATION},
    ).records
    planned = done = False
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None or event.asset_key != BACKTEST:
            continue
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned = True
        else:
            done = True
    if not planned or done:
        return False
    run = instance.get_run_by_id(materialization.run_id)
    return run is not None and not run.is_finished


# ------------------------------------------------------------------------------------------------ the cursor


@dataclass
class ReportCursor:
    """What the weekly report sensor has delivered: one entry per week it tried (see the module docstring), the
    storage id of the latest blocked materialization per week (so each block is logged once), when the sensor was
    first switched on (its first tick, ISO UTC), the first week it reports and the weeks before it that it left out."""

    weeks: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: dict[str, int] = field(default_factory=dict)
    switched_on_at: str | None = None
    first_week: str | None = None
    before_start: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, cursor: str | None) -> ReportCursor:
        """The cursor read back from its JSON (an empty one for None or a cursor of an unknown version)."""
        if not cursor:
            return cls()
        data = json.loads(cursor)
        if data.get("version") not in READABLE_CURSOR_VERSIONS:
            return cls()
        return cls(
            weeks=dict(data.get("weeks", {})),
            blocked=dict(data.get("blocked", {})),
            switched_on_at=data.get("switched_on_at"),
            first_week=data.get("first_week"),
            before_start=list(data.get("before_start", [])),
        )

    def dumps(self) -> str:
        """The cursor as compact, stable JSON."""
        return json.dumps(
            {"version": CURSOR_VERSION, "weeks": self.weeks, "blocked": self.blocked,
             "switched_on_at": self.switched_on_at, "first_week": self.first_week,
             "before_start": self.before_start},
            sort_keys=True,
            separators=(",", ":"),
        )  # fmt: skip

    def done(self, week: str) -> bool:
        """Whether ``week`` was delivered (posted with its pictures, or written as a dry run)."""
        return self.weeks.get(week, {}).get("status") in DONE

    def switch_on(self, now: datetime, start_week: date | None) -> None:
        """Record the first tick (once) and the first week to report: ``start_week`` when set, else the week the
        sensor was switched on (the weeks finished after it)."""
        if self.switched_on_at is None:
            self.switched_on_at = now.astimezone(UTC).isoformat(timespec="seconds")
        switched_on = datetime.fromisoformat(self.switched_on_at).astimezone(UTC).date()
        self.first_week = (start_week or week_start_of(switched_on)).isoformat()

    def wanted(self, week: str) -> bool:
        """Whether the sensor reports ``week``: one it tried already, or one starting on or after ``first_week``."""
        return week in self.weeks or self.first_week is None or week >= self.first_week

    def adopt(self, ledger: dict[str, dict[str, Any]]) -> None:
        """Take the shared ledger's entry of every week where it is newer than the cursor's (``modeshift slack``
        delivered it, or the sensor's last tick wrote it and then lost its cursor)."""
        for week, entry in ledger.items():
            if newer(entry, self.weeks.get(week)):
                self.weeks[week] = dict(entry)


# ---------------------------------------------------------------------------------------- one weekly report


@dataclass(frozen=True)
class SensorLimits:
    """Bounds of one tick: weeks delivered at most, and seconds after which no retry wait may end."""

    max_posts_per_tick: int = 3
    tick_budget_seconds: float = 45.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SensorLimits:
        """The limits of the validated ``slack`` settings."""
        slack = settings.slack
        return cls(max_posts_per_tick=slack.max_posts_per_tick, tick_budget_seconds=slack.tick_budget_seconds)


def _week_attachments(home: Home, settings: Settings, week: date, endpoints: list[str]) -> list[Attachment]:
    """The overview picture of the week (featured endpoints' demand and cost curves) as an upload: the file
    ``weekly_charts`` wrote, drawn again only when it is missing or was drawn from other data."""
    picture = week_overview_png(home, settings, week, endpoints)
    return [Attachment(f"modeshift-{week}.png", picture, f"modeshift charts, week of {week}")]


def deliver_week(
    home: Home,
    settings: Settings,
    target: SlackTarget,
    materialization: WeekMaterialization,
    entry: dict[str, Any],
    policy: RetryPolicy,
    log: Logger,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Build and deliver one week's report, resuming from the cursor ``entry`` (updated in place)."""
    week = date.fromisoformat(materialization.week)
    entry.update(storage_id=materialization.storage_id, run_id=materialization.run_id)
    entry["attempts"] = int(entry.get("attempts", 0)) + 1
    delivery = Delivery.from_json(entry.get("delivery"))
    try:
        report = load_week_report(home, settings, week, materialization.run_id)
        attachments: list[Attachment] = []
        try:
            attachments = _week_attachments(home, settings, week, [s.endpoint for s in report.top_spend])
        except Exception as error:  # a picture must not stop the numbers from going out
            entry["chart_error"] = target.redact(f"{type(error).__name__}: {error}")[:300]
            log.warning(f"weekly report {week}: no chart ({entry['chart_error']})")
        deliver(target, report_message(report), attachments, delivery, policy,
                dry_run_path(home, f"weekly-{week}"), sleep)  # fmt: skip
    except Exception as error:
        entry.update(status="retrying", delivery=delivery.to_json())
        entry["last_error"] = target.redact(str(error) if isinstance(error, DeliveryError)
                                            else f"{type(error).__name__}: {error}")[:500]  # fmt: skip
        log.warning(f"weekly report {week}: not delivered (try {entry['attempts']}): {entry['last_error']}")
        return
    entry.update(status="dry_run" if target.dry_run else "sent", delivery=delivery.to_json(), last_error=None,
                 delivered_at=datetime.now(UTC).isoformat(timespec="seconds"))  # fmt: skip
    if target.dry_run:
        log.info(
            f"weekly report {week}: dry run (SLACK_BOT_TOKEN is not set), written to {delivery.dry_run_file}"
        )
    else:
        log.info(
            f"weekly report {week}: posted (ts {delivery.message_ts}, {delivery.files_uploaded} picture(s))"
        )


@dataclass(frozen=True)
class TickSummary:
    """What one tick did: weeks delivered, weeks that failed (to retry), weeks blocked by failed checks, weeks
    waiting for their checks or their run's backtest, and weeks newly left out as before the first week."""

    delivered: list[str]
    failed: list[str]
    blocked: list[str]
    waiting: list[str]
    before_start: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the tick's skip reason."""
        parts = [f"{name}: {', '.join(weeks)}" for name, weeks in
                 (("delivered", self.delivered), ("retry next tick", self.failed), ("checks failed", self.blocked),
                  ("waiting for checks or backtest", self.waiting)) if weeks]  # fmt: skip
        if self.before_start:
            parts.append(f"not reported (before the first week, slack.start_week): {len(self.before_start)} week(s), "
                         f"{self.before_start[0]} to {self.before_start[-1]}")  # fmt: skip
        return "; ".join(parts) or "no new week of recommendations"


def report_new_weeks(
    instance: DagsterInstance,
    home: Home,
    settings: Settings,
    cursor: ReportCursor,
    target: SlackTarget,
    log: Logger,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
) -> TickSummary:
    """Deliver the report of every week from the cursor's first week on (``ReportCursor.switch_on`` at ``now``,
    default the current time) whose latest recommendations materialization passed its checks and that was not
    delivered yet, by the sensor or ``modeshift slack`` (oldest first, at most ``slack.max_posts_per_tick``);
    ``cursor`` is updated in place, each delivery also recorded in the shared ledger."""
    limits = SensorLimits.from_settings(settings)
    policy = RetryPolicy.from_settings(settings, deadline=time.monotonic() + limits.tick_budget_seconds)
    cursor.switch_on(now or datetime.now(UTC), settings.slack.start_week)
    cursor.adopt(read_ledger(home))
    latest = instance.get_latest_storage_id_by_partition(
        RECOMMENDATIONS, DagsterEventType.ASSET_MATERIALIZATION
    )
    summary = TickSummary([], [], [], [])
    cursor.before_start = [
        week for week in cursor.before_start if not cursor.wanted(week)
    ]  # start moved back
    early = sorted(week for week in latest if not cursor.wanted(week) and week not in cursor.before_start)
    if early:
        summary.before_start.extend(early)
        cursor.before_start = sorted({*cursor.before_start, *early})
        log.info(f"weekly report: {len(early)} week(s) before the first week {cursor.first_week} not reported "
                 f"(set slack.start_week to report them)")  # fmt: skip
    pending = {week for week in latest if not cursor.done(week) and cursor.wanted(week)}
    materializations = latest_materializations(instance, pending)
    for week in sorted(materializations):
        if len(summary.delivered) + len(summary.failed) >= limits.max_posts_per_tick:
            break
        if policy.deadline is not None and time.monotonic() > policy.deadline:
            break
        materialization = materializations[week]
        verdict = check_verdict(instance, materialization)
        if verdict.state == "pending" or (
            verdict.state == "passed" and backtest_pending(instance, materialization)
        ):
            summary.waiting.append(week)
            continue
        if verdict.state == "failed":
            summary.blocked.append(week)
            if cursor.blocked.get(week) != materialization.storage_id:
                log.warning(f"weekly report {week}: not sent, checks failed on run {materialization.run_id}: "
                            f"{', '.join(verdict.failed)}")  # fmt: skip
                cursor.blocked[week] = materialization.storage_id
            continue
        cursor.blocked.pop(week, None)
        with slack_lock(home):
            cursor.adopt({week: entry} if (entry := read_ledger(home).get(week)) else {})
            if cursor.done(week):  # delivered by modeshift slack since the tick started
                continue
            entry = cursor.weeks.setdefault(week, {})
            deliver_week(home, settings, target, materialization, entry, policy, log, sleep)
            cursor.weeks[week] = record_week(home, week, entry, by="sensor")
        (summary.delivered if entry["status"] in DONE else summary.failed).append(week)
    return summary


@sensor(
    name="weekly_report_sensor",
    minimum_interval_seconds=120,
    default_status=DefaultSensorStatus.STOPPED,
    description="Posts one Slack message per week of recommendations whose blocking checks passed (each week once, "
    "with its chart); without SLACK_BOT_TOKEN writes it under MODESHIFT_HOME/reports/slack/ instead.",
)
def weekly_report_sensor(context: SensorEvaluationContext, modeshift: ModeshiftResource) -> SensorResult:
    """Deliver the weekly report of every new, checked week of recommendations and record it in the cursor."""
    target = SlackTarget.from_env()
    cursor = ReportCursor.parse(context.cursor)
    if target.token and not target.channel:
        return SensorResult(
            cursor=cursor.dumps(), skip_reason="SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not"
        )
    summary = report_new_weeks(
        context.instance,
        modeshift.home_with(report_inputs()),
        modeshift.settings(),
        cursor,
        target,
        context.log,
    )
    modeshift.commit()  # object mode: the delivery records under reports/slack/ are shared by every worker
    return SensorResult(cursor=cursor.dumps(), skip_reason=summary.describe())


# ------------------------------------------------------------------------------------------- failure alerts


def first_error_line(context: RunFailureSensorContext) -> str:
    """Why the run failed, in one line: from the first failed step's error, else the run failure message."""
    for event in context.get_step_failure_events():
        line = error_line(event.step_failure_data.error, "")
        if line:
            return line
    message = (context.failure_event.message or "").strip()
    return message.splitlines()[0] if message else "the run failed"


@run_failure_sensor(
    name="run_failure_alert",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Posts a short Slack alert (job, partition, run id, first error line) for every failed run; "
    "without SLACK_BOT_TOKEN writes it under MODESHIFT_HOME/reports/slack/alerts/ instead.",
)
def run_failure_alert(context: RunFailureSensorContext, modeshift: ModeshiftResource) -> None:
    """Deliver one alert for the failed run (a delivery failure is logged, not raised: alerts are best effort)."""
    run = context.dagster_run
    home, settings = modeshift.home(), modeshift.settings()
    target = SlackTarget.from_env()
    message = failure_alert_message(run.job_name, run.tags.get("dagster/partition"), run.run_id,
                                    first_error_line(context))  # fmt: skip
    limits = SensorLimits.from_settings(settings)
    policy = RetryPolicy.from_settings(settings, deadline=time.monotonic() + limits.tick_budget_seconds)
    delivery = Delivery()
    try:
        deliver(target, message, [], delivery, policy, dry_run_path(home, f"alerts/{run.run_id}"))
    except DeliveryError as error:
        context.log.warning(f"failure alert for run {run.run_id}: not delivered: {error}")
        return
    modeshift.commit()
    if target.dry_run:
        context.log.info(f"failure alert for run {run.run_id}: dry run, written to {delivery.dry_run_file}")
    else:
        context.log.info(f"failure alert for run {run.run_id}: posted (ts {delivery.message_ts})")
