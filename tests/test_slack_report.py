"""The weekly Slack report and the failure alert: the numbers, the Block Kit message, delivery through a real HTTP
stand-in for Slack (tests/slack_standin.py) with 429 and 5xx, the sensor's once-per-week cursor, weeks whose checks
failed, the dry run, and the bot token staying in the Authorization header."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date

import polars as pl
import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    asset,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    materialize,
    op,
)
from dagster._serdes import serialize_value

import assets.recommendations
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import format_usd
from pipelines.delivery.featured import ReportSettings
from pipelines.delivery.slack_delivery import SlackTarget, retry_after_seconds
from pipelines.delivery.slack_ledger import ledger_path
from pipelines.delivery.slack_report import (
    build_week_report,
    load_week_report,
    report_blocks,
    slack_escape,
)
from pipelines.lake.weekly_store import read_week_table
from pipelines.ops.partitions import weekly_partitions
from pipelines.ops.report_sensors import (
    ReportCursor,
    check_verdict,
    latest_materializations,
    run_failure_alert,
    weekly_report_sensor,
)
from pipelines.ops.resources import ModeshiftResource
from pipelines.weekly.plans import RECOMMENDATION_SCHEMA
from tests.slack_standin import SlackStandIn

TOKEN = "xoxb-canary-5b1d0e7c-modeshift"
WEEKS = ("2026-11-02", "2026-11-09")


# ------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    """A running stand-in for Slack's Web API; the environment points the delivery at it."""
    with SlackStandIn(token=TOKEN) as standin:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_CHANNEL", "#finops")
        monkeypatch.setenv("SLACK_API_BASE_URL", standin.base_url)
        yield standin


@pytest.fixture
def reporting_home(built_home: Home) -> Home:
    """The two-week home with fast retries (0.01 s backoff) so that 5xx tests stay quick, reporting from its first
    week (both weeks finished before the sensor is switched on in these tests: by default it would post neither)."""
    built_home.config_file.write_text(
        "slack:\n  backoff_seconds: 0.01\n  max_retry_after_seconds: 5\n  start_week: 2026-11-02\n"
    )
    return built_home


@pytest.fixture
def instance(reporting_home: Home) -> Iterator[DagsterInstance]:
    """The home's own Dagster instance (DAGSTER_HOME points at it), with both weeks' runs in its event log."""
    with DagsterInstance.get() as dagster_instance:
        yield dagster_instance


def _tick(instance: DagsterInstance, home: Home, cursor: str | None = None) -> tuple[str, str]:
    """One evaluation of the weekly report sensor: (new cursor, what the tick says it did)."""
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"modeshift": ModeshiftResource(home_dir=str(home.root))}
    )
    result = weekly_report_sensor(context)
    return result.cursor, result.skip_reason.skip_message


def _headers(slack: SlackStandIn) -> list[str]:
    """The header text of every message the stand-in accepted, in order."""
    return [json.loads(json.dumps(m["blocks"]))[0]["text"]["text"] for m in slack.posted_messages()]


def _rematerialize_recommendations(instance: DagsterInstance, home: Home, week: str) -> None:
    result = materialize(
        [assets.recommendations.recommendations],
        partition_key=week,
        instance=instance,
        resources={"modeshift": ModeshiftResource(home_dir=str(home.root))},
    )
    assert result.success


# -------------------------------------------------------------------------------------------- the numbers


def test_report_numbers_are_the_recommendation_tables_and_the_hand_computed_costs(built_home):
    """steady-big: 10,080 minutes × 1,602,000 tokens × $0.18/M = $2,906.6688 on serverless; one H100 for 168 h at
    $3.99 (the shipped card from 2026-11-01) = $670.32; saving $2,236.3488. nightly: 140 requests × 20,500 tokens × $0.18/M = $0.5166, batch at 50 %
    off would save $0.2583 (held: below the $50 threshold)."""
    week = date(2026, 11, 9)
    recommendations = read_week_table(built_home, "recommendations", week)
    settings = ReportSettings(min_saving_usd=0.0)
    report = build_week_report(
        week,
        recommendations,
        read_week_table(built_home, "spend_concentration", week),
        read_week_table(built_home, "spend_concentration_summary", week),
        settings,
    )
    assert report.total_spend_usd == pytest.approx(float(recommendations["current_cost_usd"].sum()))
    assert report.total_spend_usd == pytest.approx(2906.6688 + 0.5166 + 0.15552)
    assert report.potential_savings_usd == pytest.approx(2906.6688 - 670.32)
    assert [(m.endpoint, m.recommended_mode) for m in report.migrations] == [("steady-big", "dedicated")]
    assert report.migrations[0].savings_usd == pytest.approx(2236.3488)
    # (1,600,000 + 6 × 2,000) / 60 = 26,867 weighted tokens/s on one replica of K = 55,344 (the 8B long_context
    # anchor of replica_capacity.csv: 1.6 M-token prompts are beyond it, clamped): 49 % of full capacity
    assert report.migrations[0].reason == "1 replica of 1×H100-80GB at 49% utilization, no overflow"
    assert [(h.endpoint, h.raw_mode) for h in report.held] == [("nightly", "batch")]
    assert report.held[0].potential_saving_usd == pytest.approx(0.2583)
    assert "below the $50.00 threshold" in report.held[0].why
    assert [s.endpoint for s in report.top_spend] == ["steady-big", "nightly", "small-chat"]
    assert report.top_spend[0].share == pytest.approx(2906.6688 / (2906.6688 + 0.5166 + 0.15552))
    assert (report.endpoints, report.unpriced, report.top_k_80) == (4, 1, 1)


def test_noise_controls_hide_small_excluded_and_surplus_rows(built_home):
    def report(settings: ReportSettings):
        return build_week_report(
            date(2026, 11, 9),
            read_week_table(built_home, "recommendations", date(2026, 11, 9)),
            read_week_table(built_home, "spend_concentration", date(2026, 11, 9)),
            None,
            settings,
        )

    default = report(ReportSettings())  # $50 minimum: the $0.26 held candidate is not listed
    assert [m.endpoint for m in default.migrations] == ["steady-big"] and default.held == ()
    assert default.hidden_held == 1
    big_minimum = report(ReportSettings(min_saving_usd=2500.0))  # above the $2,236 saving
    assert big_minimum.migrations == () and big_minimum.hidden_migrations == 1
    excluded = report(ReportSettings(min_saving_usd=0.0, exclude_endpoints=("steady-*",)))
    assert excluded.migrations == () and excluded.hidden_migrations == 1
    assert [s.endpoint for s in excluded.top_spend] == ["nightly", "small-chat"]
    assert excluded.total_spend_usd == pytest.approx(default.total_spend_usd)  # totals still count everyone
    assert [s.endpoint for s in report(ReportSettings(top_n=1)).top_spend] == ["steady-big"]


def _synthetic_recommendations(names: list[str]) -> pl.DataFrame:
    rows = [
        {"week_start": date(2026, 11, 9), "endpoint": name, "model": "m", "current_mode": "serverless",
         "raw_mode": "dedicated", "recommended_mode": "dedicated", "action": "migrate", "replicas": 1,
         "gpu_type": "H100", "current_cost_usd": 1000.0 + i, "recommended_cost_usd": 500.0, "savings_usd": 500.0 + i,
         "savings_pct": 0.5, "utilization": 0.7, "overflow_share": 0.0, "batch_upper_bound_savings_usd": None,
         "confidence": "high", "reasons": []}
        for i, name in enumerate(names)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=RECOMMENDATION_SCHEMA)


def test_block_kit_text_is_escaped_and_within_slacks_limits():
    assert slack_escape("<!channel> & co\x07") == "&lt;!channel&gt; &amp; co?"
    names = [f"<!here>`team`/endpoint-{i:03d}-" + "x" * 120 for i in range(300)]
    report = build_week_report(date(2026, 11, 9), _synthetic_recommendations(names), None, None,
                               ReportSettings(min_saving_usd=0.0, top_n=300))  # fmt: skip
    blocks = report_blocks(report)
    assert blocks[0]["text"]["text"] == "modeshift weekly report: week of 2026-11-09"
    migrations = blocks[3]["text"]["text"]
    assert len(migrations) <= 3000 and "more not listed" in migrations
    assert "<!here>" not in json.dumps(blocks) and "&lt;!here&gt;" in migrations
    assert migrations.count("`") % 2 == 0  # backticks inside names cannot break the code spans
    assert len(blocks) <= 50


# ---------------------------------------------------------------------------------------- delivery & sensor


def test_one_message_per_week_after_two_ticks_and_a_two_week_backfill(reporting_home, instance, slack):
    cursor, said = _tick(instance, reporting_home)
    assert said == "delivered: 2026-11-02, 2026-11-09"
    cursor, said = _tick(instance, reporting_home, cursor)
    assert said == "no new week of recommendations"
    for week in WEEKS:  # a backfill re-materializes both weeks: they were sent already
        _rematerialize_recommendations(instance, reporting_home, week)
    cursor, _ = _tick(instance, reporting_home, cursor)
    assert _headers(slack) == [f"modeshift weekly report: week of {week}" for week in WEEKS]
    shared = slack.shared_files()
    assert [f["thread_ts"] for f in shared] == [
        json.loads(cursor)["weeks"][w]["delivery"]["message_ts"] for w in WEEKS
    ]
    assert all(
        f["data"].startswith(b"\x89PNG") and f["channel_id"] == SlackStandIn.channel_id for f in shared
    )
    assert all(r.params().get("channel") == "#finops" for r in slack.calls("chat.postMessage"))


def test_the_message_carries_the_numbers_of_the_recommendations_parquet(reporting_home, instance, slack):
    _tick(instance, reporting_home)
    message = slack.posted_messages()[1]
    recommendations = pl.read_parquet(
        reporting_home.lake / "weekly" / "recommendations" / "week=2026-11-09" / "part.parquet"
    )
    total = float(recommendations["current_cost_usd"].sum())
    saving = float(recommendations.filter(pl.col("action") == "migrate")["savings_usd"].sum())
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert f"spend {format_usd(total)}/week" in message["text"] and format_usd(total) == "$2,907"
    assert (
        f"potential savings {format_usd(saving)}/week" in message["text"] and format_usd(saving) == "$2,236"
    )
    assert f"*Potential savings*\\n{format_usd(saving)}/week ({saving / total:.0%})" in text
    assert "`steady-big`: serverless → dedicated, saves *$2,236/week* (77%)" in text
    assert "`steady-big` $2,907 (99.98%)" in text


def test_429_with_retry_after_and_5xx_are_retried_within_the_tick(reporting_home, instance, slack):
    slack.fail_next(429, times=1, method="chat.postMessage", retry_after=1)
    slack.fail_next(500, times=1, method="files.getUploadURLExternal")
    slack.fail_next(503, times=1, method="upload")
    slack.fail_next(502, times=1, method="files.completeUploadExternal")
    started = time.monotonic()
    cursor, said = _tick(instance, reporting_home)
    assert said == "delivered: 2026-11-02, 2026-11-09"
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert [r.status for r in slack.calls("chat.postMessage", status=None)] == [429, 200, 200]
    assert len(slack.posted_messages()) == 2 and len(slack.shared_files()) == 2
    assert json.loads(cursor)["weeks"]["2026-11-02"]["delivery"]["requests"] == 8  # 4 calls + 4 retries


def test_a_failed_post_is_retried_on_the_next_tick_and_a_sent_one_never_again(
    reporting_home, instance, slack
):
    slack.fail_next(500, times=3, method="chat.postMessage")  # all three tries of the first week
    cursor, said = _tick(instance, reporting_home)
    assert said == "delivered: 2026-11-09; retry next tick: 2026-11-02"
    week = json.loads(cursor)["weeks"]["2026-11-02"]
    assert (week["status"], week["attempts"]) == ("retrying", 1)
    assert "failed after 3 tries (last: HTTP 500)" in week["last_error"]
    cursor, said = _tick(instance, reporting_home, cursor)
    assert said == "delivered: 2026-11-02"
    cursor, said = _tick(instance, reporting_home, cursor)
    assert said == "no new week of recommendations"
    assert sorted(_headers(slack)) == [f"modeshift weekly report: week of {w}" for w in WEEKS]
    assert json.loads(cursor)["weeks"]["2026-11-02"]["attempts"] == 2


def test_a_posted_message_whose_picture_failed_only_gets_the_picture_next_tick(
    reporting_home, instance, slack
):
    slack.fail_next(500, times=3, method="files.completeUploadExternal")
    cursor, said = _tick(instance, reporting_home)
    assert said == "delivered: 2026-11-09; retry next tick: 2026-11-02"
    first_ts = json.loads(cursor)["weeks"]["2026-11-02"]["delivery"]["message_ts"]
    cursor, said = _tick(instance, reporting_home, cursor)
    assert said == "delivered: 2026-11-02"
    assert len(slack.posted_messages()) == 2  # the message of 2026-11-02 was not posted again
    assert sorted(f["thread_ts"] for f in slack.shared_files())[0] == first_ts


def test_no_post_for_a_week_whose_latest_recommendations_failed_their_checks(reporting_home, instance, slack):
    @asset(
        name="recommendations",
        partitions_def=weekly_partitions,
        check_specs=[AssetCheckSpec("savings_identity", asset="recommendations", blocking=True)],
    )
    def broken_recommendations() -> MaterializeResult:
        return MaterializeResult(
            check_results=[
                AssetCheckResult(
                    check_name="savings_identity", passed=False, severity=AssetCheckSeverity.ERROR
                )
            ]  # fmt: skip
        )

    failed = materialize([broken_recommendations], partition_key="2026-11-09", instance=instance,
                         raise_on_error=False)  # fmt: skip
    assert not failed.success
    latest = latest_materializations(instance)
    assert latest["2026-11-09"].run_id == failed.run_id
    verdict = check_verdict(instance, latest["2026-11-09"])
    assert (verdict.state, verdict.failed) == ("failed", ("savings_identity",))
    assert check_verdict(instance, latest["2026-11-02"]).state == "passed"

    cursor, said = _tick(instance, reporting_home)
    assert said == "delivered: 2026-11-02; checks failed: 2026-11-09"
    cursor, said = _tick(instance, reporting_home, cursor)
    assert said == "checks failed: 2026-11-09"
    assert _headers(slack) == ["modeshift weekly report: week of 2026-11-02"]
    assert json.loads(cursor)["blocked"] == {"2026-11-09": latest["2026-11-09"].storage_id}
    # a later materialization that passes its checks is reported
    _rematerialize_recommendations(instance, reporting_home, "2026-11-09")
    cursor, said = _tick(instance, reporting_home, cursor)
    assert said == "delivered: 2026-11-09"
    assert json.loads(cursor)["blocked"] == {}


def test_without_a_token_the_report_is_written_as_a_dry_run(reporting_home, instance, monkeypatch, capfd):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    cursor, said = _tick(instance, reporting_home)
    assert said == "delivered: 2026-11-02, 2026-11-09"
    for week in WEEKS:
        written = json.loads((reporting_home.root / "reports" / "slack" / f"weekly-{week}.json").read_text())
        assert written["dry_run"] is True
        assert written["message"]["blocks"][0]["text"]["text"] == f"modeshift weekly report: week of {week}"
        (picture,) = written["files"]
        with open(picture["path"], "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
        assert json.loads(cursor)["weeks"][week]["status"] == "dry_run"
    assert "weekly report 2026-11-09: dry run (SLACK_BOT_TOKEN is not set)" in capfd.readouterr().err
    assert _tick(instance, reporting_home, cursor)[1] == "no new week of recommendations"


def test_the_token_appears_only_in_the_authorization_header(reporting_home, instance, slack, caplog, capfd):
    slack.fail_next(429, times=1, retry_after=0)
    cursor, _ = _tick(instance, reporting_home)
    with SlackStandIn(token="xoxb-some-other-token") as refusing:  # Slack refusing the token: invalid_auth
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SLACK_API_BASE_URL", refusing.base_url)
            _rematerialize_recommendations(instance, reporting_home, "2026-11-09")
            ledger_path(
                reporting_home
            ).unlink()  # a fresh cursor and no shared record: the weeks are tried again
            refused_cursor, said = _tick(instance, reporting_home, ReportCursor().dumps())
    assert "retry next tick" in said and "invalid_auth" in refused_cursor
    secret = TOKEN.encode()
    requests = slack.requests + refusing.requests
    assert len(requests) >= 8
    for request in requests:
        assert secret not in request.body and TOKEN not in request.path
        assert all(TOKEN not in value for name, value in request.headers.items() if name != "authorization")
    api_calls = [r for r in requests if r.api_method != "upload"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api_calls)
    assert all("authorization" not in r.headers for r in requests if r.api_method == "upload")
    logged = capfd.readouterr().err + caplog.text  # the sensor's log lines (Dagster writes them to stderr)
    assert "weekly report 2026-11-09: not delivered" in logged and "invalid_auth" in logged
    assert TOKEN not in cursor and TOKEN not in refused_cursor and TOKEN not in logged
    events = instance.event_log_storage.get_logs_for_all_runs_by_log_id(after_cursor=-1)
    assert len(events) > 100 and not any(TOKEN in serialize_value(event) for event in events.values())
    files = [p for p in reporting_home.root.rglob("*") if p.is_file()]
    assert len(files) > 50 and not any(secret in p.read_bytes() for p in files)
    assert TOKEN not in repr(SlackTarget.from_env())


def test_retry_after_header_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) == 1.0
    assert retry_after_seconds("soon") == 1.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0


# ------------------------------------------------------------------------------------------------ alerts


@op
def explode() -> None:
    raise ValueError("disk full on /data\nsecond line of the error")


@job
def doomed() -> None:
    explode()


def _failure_context(home: Home, instance: DagsterInstance):
    result = doomed.execute_in_process(instance=instance, raise_on_error=False,
                                       tags={"dagster/partition": "2026-11-09"})  # fmt: skip
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    (failure,) = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.RUN_FAILURE).records
    context = build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=failure.event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"modeshift": ModeshiftResource(home_dir=str(home.root))},
    )
    return context.for_run_failure(), result.run_id


def test_run_failure_alert_posts_job_partition_run_and_first_error_line(home, slack):
    with DagsterInstance.ephemeral() as instance:
        context, run_id = _failure_context(home, instance)
        run_failure_alert(context)
    (message,) = slack.posted_messages()
    assert (
        message["text"]
        == f"modeshift run failed: doomed 2026-11-09 (run {run_id[:8]}): ValueError: disk full on /data"
    )
    block = message["blocks"][0]["text"]["text"]
    assert "job `doomed` partition `2026-11-09`" in block and run_id in block
    assert "second line" not in block


def test_run_failure_alert_dry_run_writes_the_alert(home, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with DagsterInstance.ephemeral() as instance:
        context, run_id = _failure_context(home, instance)
        run_failure_alert(context)
    written = json.loads((home.root / "reports" / "slack" / "alerts" / f"{run_id}.json").read_text())
    assert written["dry_run"] is True and "ValueError: disk full on /data" in written["message"]["text"]


def test_sensors_bind_to_the_modeshift_resource_in_definitions():
    defs = Definitions(
        sensors=[weekly_report_sensor, run_failure_alert], resources={"modeshift": ModeshiftResource()}
    )
    assert defs.resolve_sensor_def("weekly_report_sensor").name == "weekly_report_sensor"
    assert defs.resolve_sensor_def("run_failure_alert").name == "run_failure_alert"


def test_load_week_report_reads_only_the_weekly_parquet(reporting_home):
    reporting_home.warehouse.unlink()  # the sensor must not need the pipeline's DuckDB file
    report = load_week_report(reporting_home, Settings.load(reporting_home), date(2026, 11, 9))
    assert report.potential_savings_usd == pytest.approx(2236.3488)


def test_a_week_without_slos_has_no_slo_section(built_home):
    week = date(2026, 11, 9)
    assert read_week_table(built_home, "slo_status", week).is_empty()  # no slos configured: an empty table
    report = build_week_report(week, read_week_table(built_home, "recommendations", week), None, None,
                               ReportSettings(), read_week_table(built_home, "slo_status", week))  # fmt: skip
    assert (report.slos, report.slo_counts, report.slo_premium_usd) == ((), (), 0.0)
    texts = [b.get("text", {}).get("text", "") for b in report_blocks(report)]
    assert not any(text.startswith("*SLO*") for text in texts)


def test_a_replica_of_several_gpus_is_named_with_its_gpu_count():
    from pipelines.delivery.slack_report import migration_reason

    row = {"recommended_mode": "dedicated", "current_mode": "serverless", "replicas": 3, "gpu_type": "H100-80GB",
           "gpus_per_replica": 2, "utilization": 0.5, "overflow_share": 0.0}  # fmt: skip
    assert migration_reason(row) == "3 replicas of 2×H100-80GB at 50% utilization, no overflow"
    autoscale = row | {
        "plan_family": "autoscale",
        "min_replicas": 1,
        "max_replicas": 4,
        "overflow_share": 0.02,
    }
    assert migration_reason(autoscale) == (
        "autoscale 1–4 replicas of 2×H100-80GB at 50% utilization, 2% of tokens overflow to serverless"
    )


def test_the_headline_and_the_concentration_say_which_prices_they_count(built_home):
    """The headline spend is the current plans' cost; the concentration section counts serverless list prices (a
    dedicated endpoint's list spend is not what it costs today): each says which, so the two totals never seem to
    disagree unexplained."""
    from pipelines.delivery.slack_report import report_blocks

    week = date(2026, 11, 9)
    report = build_week_report(
        week,
        read_week_table(built_home, "recommendations", week),
        read_week_table(built_home, "spend_concentration", week),
        read_week_table(built_home, "spend_concentration_summary", week),
        ReportSettings(min_saving_usd=0.0),
    )
    text = json.dumps(report_blocks(report), ensure_ascii=False)
    # one basis for both (the built home's logs carry no billed cost: list prices)
    assert report.price_basis == "list"
    assert f"*Spend this week (current plans, list prices)*\\n{format_usd(report.total_spend_usd)}" in text
    assert "Spend concentration (serverless at list prices, not the current plans)" in text
    assert "of the spend at serverless list prices" in text
    assert (
        "at list prices)" not in text.split("Potential savings", 1)[1].split('"}', 1)[0]
    )  # no list aside at list


def _billed_week_report(home):
    """The built home's week of 2026-11-09 as if every priced endpoint were costed at billed prices, its saving at
    list twice the billed one and list prices recommending the same actions."""
    week = date(2026, 11, 9)
    recommendations = read_week_table(home, "recommendations", week).with_columns(
        price_basis=pl.when(pl.col("current_cost_usd").is_not_null())
        .then(pl.lit("billed"))
        .otherwise(pl.lit("list")),
        list_savings_usd=pl.col("savings_usd") * 2,
        list_action=pl.col("action"),
    )
    return build_week_report(week, recommendations, None, None, ReportSettings(min_saving_usd=0.0))


def test_at_billed_prices_the_headline_names_the_basis_and_the_saving_at_list(built_home):
    from pipelines.delivery.slack_report import report_blocks

    report = _billed_week_report(built_home)
    assert report.price_basis == "billed"
    assert report.list_potential_savings_usd == pytest.approx(2 * report.potential_savings_usd)
    assert report.potential_savings_usd > 0
    text = json.dumps(report_blocks(report), ensure_ascii=False)
    assert "*Spend this week (current plans, billed prices)*" in text
    assert f"({format_usd(report.list_potential_savings_usd)}/week at list prices)" in text


def test_each_migration_line_says_its_basis_and_the_saving_at_list(built_home):
    from pipelines.delivery.slack_report import Migration, report_blocks

    report = _billed_week_report(built_home)
    assert report.migrations
    text = json.dumps(report_blocks(report), ensure_ascii=False)
    for m in report.migrations:
        assert m.price_basis == "billed" and m.list_savings_usd == pytest.approx(2 * m.savings_usd)
        aside = f" at billed prices ({format_usd(2 * m.savings_usd)}/week at list)"
        assert f"*{format_usd(m.savings_usd)}/week*{_pct_text(m.savings_pct)}{aside}: " in text
    # a move list prices would not make says so; at list there is no aside
    held_at_list = Migration("e", "serverless", "dedicated", 100.0, 0.5, "r", "high", "billed", 0.0, "hold")
    assert held_at_list.at_list_aside() == " at billed prices (list prices would say hold)"
    assert Migration("e", "serverless", "dedicated", 100.0, 0.5, "r", "high").at_list_aside() == ""


def _pct_text(share: float | None) -> str:
    from pipelines.delivery.slack_report import _pct

    return _pct(share)
