"""A post that Slack carried out but answered too late (the client timed out) must not become two messages: the
retry finds the first one in the channel's history by its metadata key and adopts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.delivery.slack_delivery import (
    METADATA_EVENT_TYPE,
    Attachment,
    Delivery,
    DeliveryError,
    RetryPolicy,
    SlackTarget,
    deliver,
)
from tests.slack_standin import SlackStandIn

TOKEN = "xoxb-dedupe-token"
MESSAGE = {"text": "modeshift weekly report: week of 2026-11-02"}
PICTURE = [Attachment("chart.png", b"\x89PNG fake bytes", "chart")]
POLICY = RetryPolicy(max_attempts=3, backoff_seconds=0.05, timeout_seconds=0.5)


def _target(slack: SlackStandIn, channel: str = SlackStandIn.channel_id) -> SlackTarget:
    return SlackTarget(token=TOKEN, channel=channel, base_url=slack.base_url)


def test_a_post_answered_after_the_timeout_is_adopted_not_posted_twice(tmp_path: Path) -> None:
    with SlackStandIn(token=TOKEN) as slack:
        slack.answer_late(
            2.0, method="chat.postMessage"
        )  # posted, but the answer comes after the 0.5 s timeout
        delivery = deliver(
            _target(slack), MESSAGE, PICTURE, Delivery(), POLICY, tmp_path / "weekly-2026-11-02.json"
        )

        posted = slack.calls("chat.postMessage")
        assert len(posted) == 1
        assert posted[0].params()["metadata"] == {
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {"key": "weekly-2026-11-02"},
        }
        assert len(slack.calls("conversations.history")) == 1
        assert delivery.adopted is True
        (message,) = slack._state.history
        assert delivery.message_ts == message["ts"]
        assert [f["thread_ts"] for f in slack.shared_files()] == [
            message["ts"]
        ]  # the picture joined its thread


def test_a_later_tick_also_looks_before_posting_again(tmp_path: Path) -> None:
    """The first tick gives up (every try timed out, one of them posted); the next tick finds that message."""
    with SlackStandIn(token=TOKEN) as slack:
        slack.answer_late(2.0, times=1, method="chat.postMessage")
        once = RetryPolicy(max_attempts=1, timeout_seconds=0.5)
        delivery = Delivery()
        with pytest.raises(DeliveryError, match="chat.postMessage"):
            deliver(_target(slack), MESSAGE, [], delivery, once, tmp_path / "weekly-2026-11-02.json")
        assert delivery.message_ts is None and delivery.post_started_at is not None

        deliver(_target(slack), MESSAGE, [], delivery, POLICY, tmp_path / "weekly-2026-11-02.json")
        assert len(slack.calls("chat.postMessage")) == 1
        assert delivery.adopted is True


def test_a_message_not_in_the_history_is_posted_again(tmp_path: Path) -> None:
    """A 503 before anything was posted: the lookup finds nothing, the retry posts the one message."""
    with SlackStandIn(token=TOKEN) as slack:
        slack.fail_next(503, times=1, method="chat.postMessage")
        delivery = deliver(
            _target(slack), MESSAGE, [], Delivery(), POLICY, tmp_path / "weekly-2026-11-09.json"
        )
        assert len(slack.calls("chat.postMessage")) == 1
        assert len(slack.calls("chat.postMessage", status=503)) == 1
        assert len(slack.calls("conversations.history")) == 1
        assert delivery.adopted is False


def test_when_the_lookup_cannot_work_the_report_is_posted_again_rather_than_lost(tmp_path: Path) -> None:
    """A channel given by #name cannot be read back (Slack wants an ID): a timed-out post is then repeated."""
    with SlackStandIn(token=TOKEN) as slack:
        slack.answer_late(2.0, method="chat.postMessage")
        delivery = deliver(
            _target(slack, "#finops"), MESSAGE, [], Delivery(), POLICY, tmp_path / "weekly-2026-11-02.json"
        )
        assert len(slack.calls("chat.postMessage")) == 2  # the documented duplicate
        assert slack.calls("conversations.history")[0].params()["channel"] == "#finops"
        assert delivery.message_ts is not None and delivery.adopted is False


def test_a_clean_post_makes_no_lookup(tmp_path: Path) -> None:
    with SlackStandIn(token=TOKEN) as slack:
        delivery = deliver(
            _target(slack), MESSAGE, [], Delivery(), POLICY, tmp_path / "weekly-2026-11-02.json"
        )
        assert [r.api_method for r in slack.requests] == ["chat.postMessage"]
        assert delivery.requests == 1
