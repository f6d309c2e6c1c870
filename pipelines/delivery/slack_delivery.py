"""Posting to Slack: one message (chat.postMessage) and its pictures uploaded into the message's thread
(files.getUploadURLExternal, the upload itself, files.completeUploadExternal), with bounded retries.

Configuration comes from the environment, never from files: ``SLACK_BOT_TOKEN`` (without it nothing is sent: the
payload is written under ``$MODESHIFT_HOME/reports/slack/`` as a *dry run*), ``SLACK_CHANNEL`` and
``SLACK_API_BASE_URL`` (default Slack's own, ``https://slack.com/api/``).

Retries: a 429 waits what its ``Retry-After`` header asks (when that is more than ``max_retry_after_seconds`` the
call gives up and the next sensor tick tries again); a 5xx or a connection error waits ``backoff_seconds``, doubled
each time; at most ``max_attempts`` tries per call, and no wait starts that would end after the policy's deadline.
Delivery progress (message posted? how many pictures uploaded?) lives in a ``Delivery`` the caller keeps, so a
retry never posts a message twice.

An ambiguous failure of chat.postMessage (a timeout, a dropped connection, a 5xx) may hide a message Slack did post.
So every message carries its ``key`` in Slack message metadata (event type ``modeshift_message``), and before posting
again after such a failure (in the same call or a later sensor tick) the channel's recent history
(conversations.history, scope ``channels:history``) is searched for it: when found, that message is adopted instead
of posting a second one. When the lookup itself fails (a channel given by name rather than ID, a missing scope), the
message is posted again: a duplicate is then possible, a lost report is not.

The token never leaves the Authorization header: error texts are redacted before they are raised, and the
dry-run file holds only the message.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from pathlib import Path
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from pipelines.core.atomic import replace_file, temp_sibling, write_json
from pipelines.core.home import Home
from pipelines.core.settings import Settings

DEFAULT_BASE_URL = "https://slack.com/api/"
HTTP_TIMEOUT_SECONDS = 10.0
METADATA_EVENT_TYPE = "modeshift_message"
HISTORY_MARGIN_SECONDS = 120  # how far before the first post attempt the history lookup starts
T = TypeVar("T")


@dataclass(frozen=True)
class SlackTarget:
    """Where messages go: bot token (None: dry run), channel (name or ID) and the Web API base URL (ends in '/')."""

    token: str | None = field(repr=False)
    channel: str | None
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SlackTarget:
        """The target named by ``SLACK_BOT_TOKEN``, ``SLACK_CHANNEL`` and ``SLACK_API_BASE_URL``."""
        env = os.environ if environ is None else environ
        base_url = env.get("SLACK_API_BASE_URL") or DEFAULT_BASE_URL
        return cls(
            token=env.get("SLACK_BOT_TOKEN") or None,
            channel=env.get("SLACK_CHANNEL") or None,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
        )

    @property
    def dry_run(self) -> bool:
        """True when there is no token: payloads are written to files instead of being sent."""
        return not self.token

    def redact(self, text: str) -> str:
        """``text`` with the token (if any) replaced by ``[redacted]``."""
        return text.replace(self.token, "[redacted]") if self.token else text


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retries of one Slack call: tries, first 5xx wait and longest 429 wait in seconds, a
    ``time.monotonic()`` deadline after which no wait may end (None: no deadline), and the HTTP timeout of one
    request in seconds."""

    max_attempts: int = 3
    backoff_seconds: float = 0.5
    max_retry_after_seconds: float = 20.0
    deadline: float | None = None
    timeout_seconds: float = HTTP_TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings, deadline: float | None = None) -> RetryPolicy:
        """The policy of the validated ``slack`` settings, with the given ``time.monotonic()`` deadline."""
        slack = settings.slack
        return cls(
            max_attempts=slack.max_attempts,
            backoff_seconds=slack.backoff_seconds,
            max_retry_after_seconds=slack.max_retry_after_seconds,
            deadline=deadline,
            timeout_seconds=slack.http_timeout_seconds,
        )


class DeliveryError(Exception):
    """A Slack call that did not succeed within its retries (the message never contains the token)."""


@dataclass(frozen=True)
class Attachment:
    """A file to upload with a message: its name, bytes and title."""

    filename: str
    data: bytes
    title: str


@dataclass
class Delivery:
    """How far one message got; kept by the caller between tries so that nothing is sent twice.

    ``message_ts`` and ``channel_id`` are set once chat.postMessage succeeded; ``post_started_at`` (epoch seconds)
    once it was first tried, and ``post_may_have_landed`` once a try failed ambiguously (timeout, connection, 5xx),
    so that later tries look for the message that failure may have hidden;
    ``adopted`` says the message was found in the channel's history rather than posted by the last try;
    ``files_uploaded`` counts the attachments already shared in its thread; ``requests`` counts HTTP calls made
    (retries and lookups included); ``dry_run_file`` is the file written instead when there is no token."""

    message_ts: str | None = None
    channel_id: str | None = None
    post_started_at: float | None = None
    post_may_have_landed: bool = False
    adopted: bool = False
    files_uploaded: int = 0
    requests: int = 0
    dry_run_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The progress as a JSON-able mapping."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Delivery:
        """Progress read back from ``to_json`` (a fresh one for None)."""
        known = {key: value for key, value in (data or {}).items() if key in cls.__dataclass_fields__}
        return cls(**known)


class _HttpStatus(Exception):
    """An HTTP answer other than 200 from the upload URL."""

    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date); 1 when absent or unreadable."""
    if value is None:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return 1.0


def _status_of(error: Exception) -> tuple[int | None, str | None]:
    """(HTTP status, Retry-After) of a failed call; (None, None) for a connection error."""
    if isinstance(error, SlackApiError):
        headers = {str(k).lower(): v for k, v in (error.response.headers or {}).items()}
        value = headers.get("retry-after")
        return int(error.response.status_code), (value[0] if isinstance(value, list) else value)
    if isinstance(error, _HttpStatus):
        return error.status, error.retry_after
    return None, None


def call_with_retries(
    call: Callable[[], T], policy: RetryPolicy, what: str, redact: Callable[[str], str] = str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:  # fmt: skip
    """Run ``call`` (one Slack request) until it succeeds, retrying 429 (after Retry-After), 5xx and connection
    errors within ``policy``; anything else, or running out of tries or time, raises ``DeliveryError``."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except (SlackApiError, _HttpStatus, urllib.error.URLError, HTTPException, OSError) as error:
            status, retry_after = _status_of(error)
            if status == 429:
                wait = retry_after_seconds(retry_after)
                if wait > policy.max_retry_after_seconds:
                    raise DeliveryError(f"{what}: rate limited, Slack asks to wait {wait:.0f} s") from None
            elif status is None or status >= 500:
                wait = policy.backoff_seconds * 2 ** (attempt - 1)
            else:
                detail = error.response.get("error") if isinstance(error, SlackApiError) else str(error)
                raise DeliveryError(redact(f"{what}: Slack answered HTTP {status} ({detail})")) from None
            reason = f"HTTP {status}" if status is not None else type(error).__name__
            if attempt >= policy.max_attempts:
                raise DeliveryError(
                    redact(f"{what}: failed after {attempt} tries (last: {reason})")
                ) from None
            if policy.deadline is not None and time.monotonic() + wait > policy.deadline:
                raise DeliveryError(
                    redact(f"{what}: {reason}; no time left in this tick to wait {wait:.1f} s")
                ) from None
            sleep(wait)
        except SlackClientError as error:
            raise DeliveryError(redact(f"{what}: {type(error).__name__}: {error}")) from None


def web_client(target: SlackTarget, timeout_seconds: float = HTTP_TIMEOUT_SECONDS) -> WebClient:
    """slack_sdk's client for ``target`` without its own retry handlers (``call_with_retries`` does that)."""
    return WebClient(token=target.token, base_url=target.base_url, timeout=timeout_seconds, retry_handlers=[])


def find_posted(client: WebClient, channel: str, key: str, since: float) -> dict[str, Any] | None:
    """The message carrying ``key`` in its modeshift metadata posted to ``channel`` since ``since`` (epoch
    seconds), as ``{"ts", "channel"}``, or None when the recent history holds none. Raises what the call raises."""
    cursor = None
    for _ in range(10):  # at most 10 pages of 200 messages: the lookup is about the last minutes only
        page = client.conversations_history(channel=channel, oldest=f"{since:.6f}", include_all_metadata=True,
                                            limit=200, cursor=cursor)  # fmt: skip
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT_TYPE and (
                (metadata.get("event_payload") or {}).get("key") == key
            ):
                return {"ts": str(message["ts"]), "channel": page.get("channel") or channel}
        cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
        if not cursor:
            return None
    return None


def _post_bytes(url: str, data: bytes, timeout_seconds: float) -> None:
    """POST a file's bytes to an upload URL handed out by files.getUploadURLExternal (no token needed)."""
    if not url.startswith(("https://", "http://")):
        raise DeliveryError("files.getUploadURLExternal returned an upload URL that is not HTTP(S)")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310 - scheme checked
            response.read()
    except urllib.error.HTTPError as error:
        raise _HttpStatus(error.code, error.headers.get("Retry-After")) from None


def _upload(client: WebClient, delivery: Delivery, attachment: Attachment, policy: RetryPolicy,
            redact: Callable[[str], str], sleep: Callable[[float], None]) -> None:  # fmt: skip
    """Upload one attachment and share it in the thread of the delivered message."""

    def counted(call: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            delivery.requests += 1
            return call()

        return run

    ticket = call_with_retries(
        counted(lambda: client.files_getUploadURLExternal(filename=attachment.filename, length=len(attachment.data))),
        policy, "files.getUploadURLExternal", redact, sleep,
    )  # fmt: skip
    call_with_retries(counted(lambda: _post_bytes(str(ticket["upload_url"]), attachment.data, policy.timeout_seconds)),
                      policy, "file upload", redact, sleep)  # fmt: skip
    call_with_retries(
        counted(lambda: client.files_completeUploadExternal(
            files=[{"id": str(ticket["file_id"]), "title": attachment.title}],
            channel_id=delivery.channel_id, thread_ts=delivery.message_ts,
        )),
        policy, "files.completeUploadExternal", redact, sleep,
    )  # fmt: skip


def dry_run_path(home: Home, name: str) -> Path:
    """Where the dry run of message ``name`` is written: ``$MODESHIFT_HOME/reports/slack/<name>.json``."""
    return home.root / "reports" / "slack" / f"{name}.json"


def _write_dry_run(
    path: Path, target: SlackTarget, message: Mapping[str, Any], attachments: list[Attachment]
) -> None:
    """The message as JSON (and each attachment next to it as ``<name>-<filename>``), written atomically."""
    files = []
    for attachment in attachments:
        file_path = path.with_name(f"{path.stem}-{attachment.filename}")
        tmp = temp_sibling(file_path)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(attachment.data)
        replace_file(tmp, file_path)
        files.append({"filename": attachment.filename, "title": attachment.title, "path": str(file_path),
                      "bytes": len(attachment.data)})  # fmt: skip
    write_json(path, {"dry_run": True, "channel": target.channel, "message": dict(message), "files": files})


def deliver(
    target: SlackTarget,
    message: Mapping[str, Any],
    attachments: list[Attachment],
    delivery: Delivery,
    policy: RetryPolicy,
    dry_run_file: Path,
    sleep: Callable[[float], None] = time.sleep,
    key: str | None = None,
) -> Delivery:
    """Send ``message`` (chat.postMessage arguments without the channel) and share ``attachments`` in its thread,
    resuming from ``delivery`` (updated in place, also when a ``DeliveryError`` is raised part-way: a message
    already posted is never posted again). ``key`` names the message for the history lookup after an ambiguous
    failure (default: the dry-run file's stem). Without a token, write the payload to ``dry_run_file`` instead."""
    if target.dry_run:
        _write_dry_run(dry_run_file, target, message, attachments)
        delivery.dry_run_file = str(dry_run_file)
        delivery.files_uploaded = len(attachments)
        return delivery
    if not target.channel:
        raise DeliveryError("SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: set the channel to post to")
    client = web_client(target, policy.timeout_seconds)
    if delivery.message_ts is None:
        key = key or dry_run_file.stem
        metadata = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": key}}

        def post() -> Any:
            if delivery.post_may_have_landed:  # an earlier try may have posted it: look before posting
                found = _look_for_posted(client, target, key, delivery)
                if found is not None:
                    delivery.adopted = True
                    return found
            if delivery.post_started_at is None:
                delivery.post_started_at = time.time()
            delivery.requests += 1
            try:
                return client.chat_postMessage(channel=target.channel, metadata=metadata, **message)
            except (
                SlackApiError
            ) as error:  # a 429 or 4xx was refused outright; a 5xx may have been carried out
                delivery.post_may_have_landed |= int(error.response.status_code) >= 500
                raise
            except Exception:  # a timeout or a broken connection: Slack may have posted it
                delivery.post_may_have_landed = True
                raise

        response = call_with_retries(post, policy, "chat.postMessage", target.redact, sleep)
        delivery.message_ts = str(response["ts"])
        delivery.channel_id = str(response.get("channel") or target.channel)
    for attachment in attachments[delivery.files_uploaded :]:
        _upload(client, delivery, attachment, policy, target.redact, sleep)
        delivery.files_uploaded += 1
    return delivery


def _look_for_posted(
    client: WebClient, target: SlackTarget, key: str, delivery: Delivery
) -> dict[str, Any] | None:
    """``find_posted`` for ``delivery``'s message; None (post again) when the lookup itself fails."""
    assert target.channel is not None and delivery.post_started_at is not None
    delivery.requests += 1
    try:
        return find_posted(client, target.channel, key, delivery.post_started_at - HISTORY_MARGIN_SECONDS)
    except (SlackApiError, SlackClientError, urllib.error.URLError, HTTPException, OSError):
        return None  # cannot tell: posting again risks a duplicate, not posting risks losing the report
