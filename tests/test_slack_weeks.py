"""Which weeks the Slack report goes out for and what it links to: switching the sensor on over a history posts only
the weeks finished after the switch-on (or from ``slack.start_week``), the message's Dagster links and backtest line
are the tables' numbers, and ``modeshift slack --week`` sends or previews one week through the sensor's exactly-once
record (a real Dagster instance, a real Slack stand-in on 127.0.0.1, the real command's ``main``)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    DagsterInstance,
    MaterializeResult,
    asset,
    build_sensor_context,
    materialize,
)

from pipelines.app.cli import main
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import format_usd
from pipelines.delivery.slack_delivery import SlackTarget
from pipelines.delivery.slack_ledger import ledger_path, read_ledger
from pipelines.lake.weekly_store import read_week_table, write_week_table
from pipelines.ops.partitions import weekly_partitions
from pipelines.ops.report_sensors import (
    ReportCursor,
    latest_materializations,
    report_new_weeks,
    weekly_report_sensor,
)
from pipelines.ops.resources import ModeshiftResource
from tests.slack_standin import SlackStandIn

TOKEN = "xoxb-weeks-7c1f"
HISTORY = (
    "2026-10-05",
    "2026-10-12",
    "2026-10-19",
    "2026-10-26",
)  # added to the built 2026-11-02 and 2026-11-09
LOG = logging.getLogger("test_slack_weeks")


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    """A running stand-in for Slack's Web API; the environment points the delivery at it."""
    with SlackStandIn(token=TOKEN) as standin:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_CHANNEL", SlackStandIn.channel_id)
        monkeypatch.setenv("SLACK_API_BASE_URL", standin.base_url)
        yield standin


@pytest.fixture
def instance(built_home: Home) -> Iterator[DagsterInstance]:
    """The built home's own Dagster instance (both weeks' runs in its event log)."""
    built_home.config_file.write_text("slack:\n  backoff_seconds: 0.01\n")
    with DagsterInstance.get() as dagster_instance:
        yield dagster_instance


def _add_history(instance: DagsterInstance, home: Home, weeks: tuple[str, ...]) -> None:
    """Materialize ``recommendations`` for earlier weeks through Dagster (a stand-in asset of the same key, its
    blocking check passing), each week's table a copy of 2026-11-02's with its own week_start."""
    source = read_week_table(home, "recommendations", date(2026, 11, 2))

    @asset(
        name="recommendations",
        partitions_def=weekly_partitions,
        check_specs=[AssetCheckSpec("savings_identity", asset="recommendations", blocking=True)],
    )
    def copied_recommendations(context) -> MaterializeResult:  # noqa: ANN001 - Dagster reads the annotation
        week = date.fromisoformat(context.partition_key)
        frame = source.with_columns(pl.lit(week).alias("week_start"))
        write_week_table(home, "recommendations", week, frame, "history-copy")
        return MaterializeResult(check_results=[AssetCheckResult(check_name="savings_identity", passed=True)])

    for week in weeks:
        assert materialize([copied_recommendations], partition_key=week, instance=instance).success


def _headers(slack: SlackStandIn) -> list[str]:
    return [m["blocks"][0]["text"]["text"].rsplit(" ", 1)[-1] for m in slack.posted_messages()]


def _tick(instance: DagsterInstance, home: Home, cursor: ReportCursor, now: datetime) -> str:
    """One evaluation of the sensor's work at ``now``; ``cursor`` is updated in place, its summary returned."""
    summary = report_new_weeks(
        instance, home, Settings.load(home), cursor, SlackTarget.from_env(), LOG, now=now
    )
    return summary.describe()


# ----------------------------------------------------------------------------------- which weeks are posted


def test_switching_on_over_a_history_posts_only_the_weeks_finished_after_it(built_home, instance, slack):
    """Six weeks of history (2026-10-05 .. 2026-11-09); the sensor first runs on Wednesday 2026-11-11: only the week
    of 2026-11-09 (it finishes on 2026-11-16, after the switch-on) is posted; the five earlier weeks are recorded as
    before the start and stay unposted, also when one of them is materialized again; a later week is posted."""
    _add_history(instance, built_home, HISTORY)
    assert sorted(latest_materializations(instance)) == [*HISTORY, "2026-11-02", "2026-11-09"]
    cursor = ReportCursor()
    said = _tick(instance, built_home, cursor, datetime(2026, 11, 11, 9, 0, tzinfo=UTC))
    assert said == (
        "delivered: 2026-11-09; not reported (before the first week, slack.start_week): 5 week(s), "
        "2026-10-05 to 2026-11-02"
    )
    assert _headers(slack) == ["2026-11-09"]
    saved = json.loads(cursor.dumps())
    assert saved["switched_on_at"] == "2026-11-11T09:00:00+00:00" and saved["first_week"] == "2026-11-09"
    assert saved["before_start"] == [*HISTORY, "2026-11-02"]
    assert list(saved["weeks"]) == ["2026-11-09"] and saved["weeks"]["2026-11-09"]["status"] == "sent"
    # the cursor survives its JSON; the next ticks post nothing old, even after a backfill of an old week
    cursor = ReportCursor.parse(cursor.dumps())
    _add_history(instance, built_home, ("2026-10-19",))
    assert (
        _tick(instance, built_home, cursor, datetime(2026, 11, 12, tzinfo=UTC))
        == "no new week of recommendations"
    )
    assert cursor.switched_on_at == "2026-11-11T09:00:00+00:00"  # recorded once, on the first tick
    _add_history(instance, built_home, ("2026-11-16",))  # finishes after the switch-on
    assert _tick(instance, built_home, cursor, datetime(2026, 11, 24, tzinfo=UTC)) == "delivered: 2026-11-16"
    assert _headers(slack) == ["2026-11-09", "2026-11-16"]
    # moving slack.start_week back posts the weeks from there on, and they leave the cursor's before_start
    built_home.config_file.write_text("slack:\n  backoff_seconds: 0.01\n  start_week: 2026-10-26\n")
    said = _tick(instance, built_home, cursor, datetime(2026, 11, 25, tzinfo=UTC))
    assert said == "delivered: 2026-10-26, 2026-11-02"
    assert (
        cursor.before_start == ["2026-10-05", "2026-10-12", "2026-10-19"]
        and cursor.first_week == "2026-10-26"
    )


def test_start_week_reports_the_history_from_that_week_on(built_home, instance, slack):
    built_home.config_file.write_text("slack:\n  backoff_seconds: 0.01\n  start_week: 2026-10-19\n")
    _add_history(instance, built_home, HISTORY)
    cursor = ReportCursor()
    now = datetime(2026, 11, 30, tzinfo=UTC)
    said = _tick(instance, built_home, cursor, now)  # three posts per tick at most, oldest first
    assert said.startswith("delivered: 2026-10-19, 2026-10-26, 2026-11-02; not reported")
    assert _tick(instance, built_home, cursor, now) == "delivered: 2026-11-09"
    assert _tick(instance, built_home, cursor, now) == "no new week of recommendations"
    assert _headers(slack) == ["2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09"]
    assert (cursor.first_week, cursor.before_start) == ("2026-10-19", ["2026-10-05", "2026-10-12"])
    assert sorted(w for w, e in cursor.weeks.items() if e["status"] == "sent") == _headers(slack)


def test_the_sensor_switched_on_today_posts_none_of_the_past_weeks(built_home, instance, slack):
    """Through the sensor itself (the clock is today's): both built weeks finished long ago, nothing is posted,
    and the cursor says when it was switched on and which weeks it left out."""
    context = build_sensor_context(
        instance=instance,
        cursor=None,
        resources={"modeshift": ModeshiftResource(home_dir=str(built_home.root))},
    )
    before = datetime.now(UTC)
    result = weekly_report_sensor(context)
    assert slack.posted_messages() == []
    assert (
        "not reported (before the first week, slack.start_week): 2 week(s)" in result.skip_reason.skip_message
    )
    saved = json.loads(result.cursor)
    switched_on = datetime.fromisoformat(saved["switched_on_at"])
    assert before.replace(microsecond=0) <= switched_on <= datetime.now(UTC)
    monday = switched_on.date() - timedelta(days=switched_on.weekday())
    assert saved["first_week"] == monday.isoformat()
    assert saved["before_start"] == ["2026-11-02", "2026-11-09"] and saved["weeks"] == {}


# ------------------------------------------------------------------------------ links and the backtest line


def test_the_message_links_to_dagster_and_its_backtest_line_is_the_backtest_table(
    built_home, instance, slack
):
    built_home.config_file.write_text(
        "slack:\n  start_week: 2026-11-09\n  dagster_url: http://dagster.internal:3000/\n"
    )
    cursor = ReportCursor()
    assert _tick(instance, built_home, cursor, datetime(2026, 11, 30, tzinfo=UTC)).startswith(
        "delivered: 2026-11-09"
    )
    (message,) = slack.posted_messages()
    text = json.dumps(message["blocks"], ensure_ascii=False)
    run_id = latest_materializations(instance)["2026-11-09"].run_id
    assert f"<http://dagster.internal:3000/runs/{run_id}|Dagster run>" in text
    assert (
        "<http://dagster.internal:3000/assets/recommendations?view=partitions&amp;partition=2026-11-09|"
        "recommendations of the week>" in text
    )
    backtest = read_week_table(built_home, "backtest", date(2026, 11, 9))
    assert backtest.height == 3
    (line,) = [
        b["text"]["text"]
        for b in message["blocks"]
        if b.get("text", {}).get("text", "").startswith("*Backtest*")
    ]
    found = re.search(r"plans cost (\$[\d,.]+) on this week's traffic; best in hindsight (\$[\d,.]+) \((\d) "
                      r"endpoints\)", line)  # fmt: skip
    assert found is not None, line
    plan, hindsight = (
        float(backtest["recommended_plan_cost_usd"].sum()),
        float(backtest["hindsight_cost_usd"].sum()),
    )
    assert found.groups() == (format_usd(plan), format_usd(hindsight), "3")
    # last week's plans were all serverless (steady-big's move waited for its second week): $2,906.67 + $0.52 +
    # $0.16; in hindsight one replica for steady-big ($670.32), batch for nightly ($0.26), serverless for small-chat
    assert plan == pytest.approx(2906.6688 + 0.5166 + 0.15552)
    assert hindsight == pytest.approx(670.32 + 0.2583 + 0.15552)


def test_without_a_dagster_url_there_are_no_links_and_a_first_week_says_it_has_no_backtest(
    built_home, instance, slack
):
    built_home.config_file.write_text("slack:\n  start_week: 2026-11-02\n  max_posts_per_tick: 1\n")
    _tick(instance, built_home, ReportCursor(), datetime(2026, 11, 30, tzinfo=UTC))
    (message,) = slack.posted_messages()
    text = json.dumps(message["blocks"])
    assert "/runs/" not in text and "Dagster run" not in text
    assert read_week_table(built_home, "backtest", date(2026, 11, 2)).is_empty()
    assert "no backtest this week: no plans of the week before could be costed" in text


# ------------------------------------------------------------------------------------ modeshift slack --week


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["slack", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_slack_command_sends_once_and_shares_the_sensors_record(built_home, instance, slack, capsys):
    code, out, err = _cli(capsys, "--week", "2026-11-09")
    assert code == 0 and err == ""
    assert re.fullmatch(r"week of 2026-11-09: posted to C0STANDIN \(ts [\d.]+, 1 picture\(s\)\)\n", out)
    assert _headers(slack) == ["2026-11-09"] and len(slack.shared_files()) == 1
    entry = read_ledger(built_home)["2026-11-09"]
    assert (entry["status"], entry["by"]) == ("sent", "modeshift slack")
    # the sensor, reporting from 2026-11-02, sends only the week the command did not
    built_home.config_file.write_text("slack:\n  start_week: 2026-11-02\n")
    cursor = ReportCursor()
    assert _tick(instance, built_home, cursor, datetime(2026, 11, 30, tzinfo=UTC)) == "delivered: 2026-11-02"
    assert cursor.weeks["2026-11-09"]["by"] == "modeshift slack" and cursor.done("2026-11-09")
    # ... and the command does not send again what the sensor sent, nor what it sent itself
    for week, by in (("2026-11-02", "sensor"), ("2026-11-09", "modeshift slack")):
        code, out, _ = _cli(capsys, "--week", week)
        assert (
            code == 0 and out.startswith(f"week of {week}: already sent ({by}, ") and "not sent again" in out
        )
    assert _headers(slack) == ["2026-11-09", "2026-11-02"]


def test_slack_dry_run_prints_the_message_and_sends_nothing(built_home, instance, slack, capsys):
    code, out, err = _cli(capsys, "--week", "2026-11-09", "--dry-run")
    assert code == 0 and err == "week of 2026-11-09: dry run, nothing sent\n"
    assert out.startswith("modeshift weekly report: week of 2026-11-09\n")
    assert "*Potential savings*: $2,236/week (77%)" in out and "`steady-big`: serverless → dedicated" in out
    assert "*Backtest*\nlast week's plans cost" in out
    assert slack.requests == [] and not ledger_path(built_home).exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--week", "2026-10-05"), {}, "The week of 2026-10-05 is not computed yet: it has no recommendations. "
         "Run 'modeshift materialize' once its days are in, then try again."),
        (("--week", "2026-11-10"), {}, "2026-11-10 is not a Monday. Weeks start on Monday (UTC)."),
        (("--week", "2026-11-09"), {"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN is not set: nothing can be sent. "
         "Set SLACK_BOT_TOKEN and SLACK_CHANNEL, or preview the message with --dry-run."),
        (("--week", "2026-11-09"), {"SLACK_CHANNEL": None}, "SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not. "
         "Set SLACK_CHANNEL to the channel ID to post to."),
    ],
)  # fmt: skip
def test_slack_command_refusals_exit_2_with_one_line(
    built_home, instance, slack, capsys, monkeypatch, args, env, message
):
    for name, value in env.items():
        monkeypatch.delenv(name) if value is None else monkeypatch.setenv(name, value)
    code, out, err = _cli(capsys, *args)
    assert (code, out, err) == (2, "", f"modeshift: error: {message}\n")
    assert slack.posted_messages() == []


def test_slack_command_exits_1_when_slack_fails_and_a_rerun_posts_once(built_home, instance, slack, capsys):
    slack.fail_next(500, times=3, method="chat.postMessage")  # every try of the first run
    code, out, err = _cli(capsys, "--week", "2026-11-09")
    assert code == 1 and out == ""
    assert err.startswith(
        "week of 2026-11-09: not delivered: chat.postMessage: failed after 3 tries (last: HTTP 500)"
    )
    assert TOKEN not in err and read_ledger(built_home)["2026-11-09"]["status"] == "retrying"
    code, out, _ = _cli(capsys, "--week", "2026-11-09")
    assert code == 0 and "posted" in out
    assert _headers(slack) == ["2026-11-09"]


def test_start_week_and_dagster_url_are_checked_in_one_line():
    from pipelines.core.errors import ModeshiftError

    settings = Settings.from_overrides(
        {"slack": {"start_week": "2026-10-19", "dagster_url": "https://d.example/"}}
    )
    assert (settings.slack.start_week, settings.slack.dagster_url) == (
        date(2026, 10, 19),
        "https://d.example",
    )
    assert Settings.from_overrides({}).slack.start_week is None  # default: from the sensor's switch-on
    for bad, said in (
        ({"start_week": "2026-10-20"}, "slack.start_week must be a Monday (weeks start on Monday, UTC); "
                                       "2026-10-20 is a Tuesday"),
        ({"dagster_url": "dagster:3000"}, "slack.dagster_url must be an http:// or https:// URL"),
    ):  # fmt: skip
        with pytest.raises(ModeshiftError, match=re.escape(said)):
            Settings.from_overrides({"slack": bad})


def test_a_week_waits_for_the_backtest_its_run_is_still_computing(built_home, instance, slack):
    """A run materializes the week's recommendations (checks passed) and then its backtest, which is held back:
    while the run goes on the week waits (its message would lack the backtest line); once the run ends it is sent."""
    import threading
    import time

    built_home.config_file.write_text("slack:\n  backoff_seconds: 0.01\n  start_week: 2026-10-26\n")
    week = "2026-10-26"
    source = read_week_table(built_home, "recommendations", date(2026, 11, 2))
    release = threading.Event()

    @asset(
        name="recommendations",
        partitions_def=weekly_partitions,
        check_specs=[AssetCheckSpec("savings_identity", asset="recommendations", blocking=True)],
    )
    def copied_recommendations(context) -> MaterializeResult:  # noqa: ANN001 - Dagster reads the annotation
        frame = source.with_columns(pl.lit(date.fromisoformat(context.partition_key)).alias("week_start"))
        write_week_table(
            built_home, "recommendations", date.fromisoformat(context.partition_key), frame, "copy"
        )
        return MaterializeResult(check_results=[AssetCheckResult(check_name="savings_identity", passed=True)])

    @asset(name="backtest", partitions_def=weekly_partitions, deps=[copied_recommendations])
    def slow_backtest() -> None:
        assert release.wait(600)  # a liveness bound, not a timing

    results = []
    run = threading.Thread(target=lambda: results.append(materialize(
        [copied_recommendations, slow_backtest], partition_key=week, instance=instance).success))  # fmt: skip
    run.start()
    try:
        deadline = time.monotonic() + 600  # liveness bounds: a loaded machine may be slow, never wrong
        while week not in latest_materializations(instance) and time.monotonic() < deadline:
            time.sleep(0.1)
        cursor = ReportCursor()
        now = datetime(2026, 11, 30, tzinfo=UTC)
        said = _tick(instance, built_home, cursor, now)
        assert said == "delivered: 2026-11-02, 2026-11-09; waiting for checks or backtest: 2026-10-26"
    finally:
        release.set()
        run.join(600)
    assert results == [True]
    assert _tick(instance, built_home, cursor, now) == "delivered: 2026-10-26"
    assert sorted(_headers(slack)) == ["2026-10-26", "2026-11-02", "2026-11-09"]
