"""Load test of the weekly Slack report: Slack (the stand-in) is slow and answers 500 for a while, across several
sensor ticks, while new weeks keep being materialized and old ones re-materialized (a backfill). Afterwards every
week has been reported exactly once."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context, materialize

import assets.recommendations
from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.ingest.landing import land_file
from pipelines.ops.report_sensors import weekly_report_sensor
from pipelines.ops.resources import ModeshiftResource
from tests.slack_standin import SlackStandIn

TOKEN = "xoxb-load-test-token"
SLOW_SECONDS = 0.05  # every answer of the stand-in is this late
NEW_WEEK = "2026-11-16"


@pytest.fixture
def slow_slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    """The stand-in, answering every request SLOW_SECONDS late; the environment points the delivery at it."""
    with SlackStandIn(token=TOKEN) as standin:
        handler = standin._server.RequestHandlerClass
        original = handler._handle

        def slow_handle(self) -> None:  # noqa: ANN001 - the request handler
            time.sleep(SLOW_SECONDS)
            original(self)

        monkeypatch.setattr(handler, "_handle", slow_handle)
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_CHANNEL", "#finops")
        monkeypatch.setenv("SLACK_API_BASE_URL", standin.base_url)
        yield standin


def _tick(instance: DagsterInstance, home: Home, cursor: str | None) -> tuple[str, str]:
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"modeshift": ModeshiftResource(home_dir=str(home.root))}
    )
    result = weekly_report_sensor(context)
    return result.cursor, result.skip_reason.skip_message


def _weeks_posted(slack: SlackStandIn) -> Counter[str]:
    """How many accepted messages each week got (from the header block)."""
    return Counter(
        m["blocks"][0]["text"]["text"].removeprefix("modeshift weekly report: week of ")
        for m in (dict(p, blocks=json.loads(p["blocks"]) if isinstance(p["blocks"], str) else p["blocks"])
                  for p in slack.posted_messages())
    )  # fmt: skip


def _write_new_week(path: Path) -> None:
    """Monday 2026-11-16 (a third ISO week): steady-big, one request every ten minutes."""
    with open(path, "w") as handle:
        for minute in range(0, 1440, 10):
            row = {
                "request_id": f"load-{minute}",
                "ts": f"{NEW_WEEK}T{minute // 60:02d}:{minute % 60:02d}:00+00:00",
                "endpoint": "steady-big",
                "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
                "input_tokens": 1_000,
                "output_tokens": 100,
            }
            handle.write(json.dumps(row) + "\n")


@pytest.mark.slow
def test_every_week_is_reported_exactly_once_after_a_slow_failing_slack(built_home, slow_slack, tmp_path):
    built_home.config_file.write_text(
        "slack:\n  backoff_seconds: 0.01\n  max_retry_after_seconds: 1\n  max_posts_per_tick: 2\n"
        "  start_week: 2026-11-02\n"
    )
    with DagsterInstance.get() as instance:
        # Slack down: the next 10 requests (whatever they are) answer 500; each call tries 3 times.
        slow_slack.fail_next(500, times=10)
        cursor, said = _tick(instance, built_home, None)
        assert "retry next tick" in said and "delivered" not in said, said

        # A new week lands and is materialized while Slack is still failing.
        _write_new_week(tmp_path / "new-week.jsonl")
        land_file(built_home, tmp_path / "new-week.jsonl", "canonical", {})
        materialize_pending(built_home, progress=lambda _: None)
        cursor, said = _tick(
            instance, built_home, cursor
        )  # the last 4 failures, then the first week goes out

        # A backfill re-materializes a week in the middle of the outage.
        result = materialize(
            [assets.recommendations.recommendations],
            partition_key="2026-11-09",
            instance=instance,
            resources={"modeshift": ModeshiftResource(home_dir=str(built_home.root))},
        )
        assert result.success
        saids = [said]
        for _ in range(
            4
        ):  # Slack is healthy again (and still slow): the ticks catch up, then have nothing to do
            cursor, said = _tick(instance, built_home, cursor)
            saids.append(said)
    assert saids[-1] == "no new week of recommendations", saids
    assert _weeks_posted(slow_slack) == {"2026-11-02": 1, "2026-11-09": 1, NEW_WEEK: 1}, saids
    weeks = json.loads(cursor)["weeks"]
    assert {week: entry["status"] for week, entry in weeks.items()} == dict.fromkeys(
        ("2026-11-02", "2026-11-09", NEW_WEEK), "sent"
    )
    assert len(slow_slack.shared_files()) == 3  # one picture per week, each in its own message's thread
    assert sorted(f["thread_ts"] for f in slow_slack.shared_files()) == sorted(
        entry["delivery"]["message_ts"] for entry in weeks.values()
    )
    assert [r.status for r in slow_slack.requests].count(500) == 10
    # Bounded work, counted rather than timed: the 10 failures, then per week at most one history look-up, one
    # message and the three calls of a file upload.
    assert len(slow_slack.requests) <= 10 + 3 * 5, [(r.api_method, r.status) for r in slow_slack.requests]
