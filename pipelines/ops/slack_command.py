"""``modeshift slack --week W [--dry-run]``: one week's report sent, or previewed, without the Dagster UI.

It keeps the sensor's exactly-once promise: the week's entry is read from and written to the ledger the sensor
shares (``pipelines.delivery.slack_ledger``), under the same lock, and the message is built and delivered by the
sensor's own ``deliver_week`` (same message key, same retries, same resumption: a message already posted is never
posted again, only its missing pictures are uploaded). A week the sensor sent is not sent again here, and a week sent
here is not sent again by the sensor. A week the sensor only wrote as a dry run (no token then) is sent.

Refused, with one line each (exit status 2): a week whose recommendations were never materialized, or whose latest
materialization failed its blocking checks, or whose run is still checking it or computing its backtest; sending
without ``SLACK_BOT_TOKEN`` or ``SLACK_CHANNEL``. ``--dry-run`` prints the message as text and sends nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from dagster import DagsterInstance

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.delivery.slack_delivery import RetryPolicy, SlackTarget
from pipelines.delivery.slack_ledger import DRY_RUN, SENT, read_ledger, record_week, slack_lock
from pipelines.delivery.slack_report import load_week_report, message_text, report_message
from pipelines.lake.weekly_store import read_week_table
from pipelines.ops.report_sensors import (
    SensorLimits,
    WeekMaterialization,
    backtest_pending,
    check_verdict,
    deliver_week,
    latest_materializations,
)


@dataclass(frozen=True)
class SlackOutcome:
    """What ``modeshift slack`` did for one week: ``status`` is ``sent``, ``already_sent``, ``previewed`` or
    ``failed``; ``line`` says it in one sentence; ``text`` is the message as text (previews)."""

    week: str
    status: str
    line: str
    text: str = ""


def _quiet_log() -> logging.Logger:
    """A logger that keeps ``deliver_week``'s lines to itself (the command prints its own one-line outcome)."""
    log = logging.getLogger("modeshift.slack_command")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.propagate = False
    return log


def ready_materialization(instance: DagsterInstance, home: Home, week: date) -> WeekMaterialization:
    """The latest materialization of the week's recommendations, when the week can be reported: computed (a
    materialization in the instance and its table in the lake), its blocking checks passed and its run's backtest
    done; else a ``ModeshiftError`` saying which."""
    key = week.isoformat()
    materialization = latest_materializations(instance, {key}).get(key)
    if materialization is None or read_week_table(home, "recommendations", week) is None:
        raise ModeshiftError(
            f"The week of {key} is not computed yet: it has no recommendations.",
            "Run 'modeshift materialize' once its days are in, then try again.",
        )
    verdict = check_verdict(instance, materialization)
    if verdict.state == "failed":
        raise ModeshiftError(
            f"The recommendations of the week of {key} failed their blocking checks "
            f"({', '.join(verdict.failed)}) in run {materialization.run_id}: not sent.",
            "Fix what the checks report and run 'modeshift materialize' again.",
        )
    if verdict.state == "pending" or backtest_pending(instance, materialization):
        raise ModeshiftError(
            f"The week of {key} is still being computed (run {materialization.run_id}).",
            "Try again when the run has finished.",
        )
    return materialization


def send_week(
    instance: DagsterInstance,
    home: Home,
    settings: Settings,
    week: date,
    target: SlackTarget,
    dry_run: bool = False,
) -> SlackOutcome:
    """Send (or with ``dry_run`` only render) the report of the week starting ``week``, once: see the module."""
    key = week.isoformat()
    materialization = ready_materialization(instance, home, week)
    if dry_run:
        report = load_week_report(home, settings, week, materialization.run_id)
        entry = read_ledger(home).get(key, {})
        already = f" (already sent, {entry.get('delivered_at')})" if entry.get("status") == SENT else ""
        return SlackOutcome(key, "previewed", f"week of {key}: dry run, nothing sent{already}",
                            message_text(report_message(report)))  # fmt: skip
    if target.dry_run:
        raise ModeshiftError(
            "SLACK_BOT_TOKEN is not set: nothing can be sent.",
            "Set SLACK_BOT_TOKEN and SLACK_CHANNEL, or preview the message with --dry-run.",
        )
    if not target.channel:
        raise ModeshiftError(
            "SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not.",
            "Set SLACK_CHANNEL to the channel ID to post to.",
        )
    limits = SensorLimits.from_settings(settings)
    policy = RetryPolicy.from_settings(settings, deadline=time.monotonic() + limits.tick_budget_seconds)
    with slack_lock(home):
        entry = read_ledger(home).get(key, {})
        if entry.get("status") == SENT:
            return SlackOutcome(key, "already_sent", f"week of {key}: already sent ({entry.get('by')}, "
                                f"{entry.get('delivered_at')}); not sent again")  # fmt: skip
        if entry.get("status") == DRY_RUN:  # written as a file before there was a token: post it for real
            entry = {name: value for name, value in entry.items() if name not in ("delivery", "status")}
        deliver_week(home, settings, target, materialization, entry, policy, _quiet_log())
        entry = record_week(home, key, entry, by="modeshift slack")
    delivery = entry.get("delivery") or {}
    if entry["status"] == SENT:
        return SlackOutcome(key, "sent", f"week of {key}: posted to {target.channel} (ts {delivery.get('message_ts')}, "
                            f"{delivery.get('files_uploaded', 0)} picture(s))")  # fmt: skip
    return SlackOutcome(key, "failed", f"week of {key}: not delivered: {entry.get('last_error')}. Run the same "
                        "command again: what was posted is not posted again.")  # fmt: skip
