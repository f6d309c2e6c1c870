"""A stand-in for Slack's Web API on 127.0.0.1, for tests: a real HTTP server in a thread that records every request
and answers the methods modeshift calls (auth.test, chat.postMessage, conversations.history, files.getUploadURLExternal,
the upload URL it hands out, files.completeUploadExternal). It can be told to answer 429 (with Retry-After) or 5xx
the next N times, for one method or for any, or to do what it was asked and answer late (a client timeout that hides
a message that was posted).

    with SlackStandIn(token="xoxb-test") as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the stand-in answered

    @property
    def api_method(self) -> str:
        """``chat.postMessage`` for ``/api/chat.postMessage``; ``upload`` for the upload URL."""
        path = urlsplit(self.path).path
        return "upload" if path.startswith("/upload/") else path.rsplit("/", 1)[-1]

    def params(self) -> dict[str, Any]:
        """The request's arguments: JSON body, form body or query string."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        content_type = self.headers.get("content-type", "")
        if "json" in content_type:
            return {**query, **json.loads(self.body or b"{}")}
        if "x-www-form-urlencoded" in content_type:
            return {**query, **{k: v[0] for k, v in parse_qs(self.body.decode()).items()}}
        return query


@dataclass
class _Failure:
    status: int
    times: int
    method: str | None
    retry_after: str | None


@dataclass
class _State:
    token: str | None
    requests: list[Recorded] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    pending_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # posted messages, oldest first
    delays: list[list[Any]] = field(default_factory=list)  # [seconds, times left, method or None]
    lock: threading.Lock = field(default_factory=threading.Lock)


class SlackStandIn:
    """The server. ``base_url`` ends in '/'; ``requests`` is everything received, in order."""

    channel_id = "C0STANDIN"

    def __init__(self, token: str | None = None) -> None:
        self._state = _State(token=token)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self._state))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What to give slack_sdk's client as ``base_url``."""
        return f"http://127.0.0.1:{self.port}/api/"

    def __enter__(self) -> SlackStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail_next(
        self, status: int, times: int = 1, method: str | None = None, retry_after: int | None = None
    ) -> None:
        """Answer ``status`` to the next ``times`` requests (of ``method`` only, when given), with a Retry-After
        header when ``retry_after`` is given."""
        with self._state.lock:
            self._state.failures.append(
                _Failure(status, times, method, None if retry_after is None else str(retry_after))
            )

    def answer_late(self, seconds: float, times: int = 1, method: str | None = None) -> None:
        """Do what the next ``times`` requests (of ``method`` only, when given) ask, then answer ``seconds`` late."""
        with self._state.lock:
            self._state.delays.append([seconds, times, method])

    @property
    def requests(self) -> list[Recorded]:
        """Every request received so far."""
        with self._state.lock:
            return list(self._state.requests)

    def calls(self, method: str, status: int | None = 200) -> list[Recorded]:
        """Requests of one API method (``upload`` for the upload URL), those answered ``status`` (None: all)."""
        return [r for r in self.requests if r.api_method == method and (status is None or r.status == status)]

    def posted_messages(self) -> list[dict[str, Any]]:
        """Arguments of every chat.postMessage that was answered ok."""
        return [r.params() for r in self.calls("chat.postMessage")]

    def shared_files(self) -> list[dict[str, Any]]:
        """Every file completed and shared: id, title, channel, thread_ts and its bytes."""
        shared = []
        for request in self.calls("files.completeUploadExternal"):
            params = request.params()
            for item in json.loads(params["files"]):
                shared.append({**item, "channel_id": params.get("channel_id"), "thread_ts": params.get("thread_ts"),
                               "data": self._state.uploads.get(item["id"])})  # fmt: skip
        return shared


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return  # quiet

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._handle()

        def do_POST(self) -> None:  # noqa: N802
            self._handle()

        def _answer(
            self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bool = False
        ) -> None:
            body = payload if raw else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if raw else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _injected_failure(self, method: str) -> _Failure | None:
            for failure in state.failures:
                if failure.times > 0 and (failure.method is None or failure.method == method):
                    failure.times -= 1
                    return failure
            return None

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Recorded(self.command, self.path, headers, body, 0)
            with state.lock:
                failure = self._injected_failure(request.api_method)
                status, payload, extra, raw = self._respond(request, failure)
                state.requests.append(Recorded(self.command, self.path, headers, body, status))
                delay = self._injected_delay(request.api_method)
            if delay:
                time.sleep(delay)
            try:
                self._answer(status, payload, extra, raw)
            except OSError:
                pass  # the client gave up waiting: what was asked is done all the same

        def _injected_delay(self, method: str) -> float:
            for delay in state.delays:
                if delay[1] > 0 and (delay[2] is None or delay[2] == method):
                    delay[1] -= 1
                    return float(delay[0])
            return 0.0

        def _respond(
            self, request: Recorded, failure: _Failure | None
        ) -> tuple[int, Any, dict[str, str], bool]:
            if failure is not None:
                extra = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
                error = "ratelimited" if failure.status == 429 else "internal_error"
                return failure.status, {"ok": False, "error": error}, extra, False
            method = request.api_method
            if method == "upload":
                file_id = urlsplit(request.path).path.rsplit("/", 1)[-1]
                if file_id not in state.pending_files:
                    return 404, b"unknown upload", {}, True
                state.uploads[file_id] = request.body
                return 200, f"OK - {len(request.body)}".encode(), {}, True
            if state.token is not None and request.headers.get("authorization") != f"Bearer {state.token}":
                return 200, {"ok": False, "error": "invalid_auth"}, {}, False
            params = request.params()
            if method == "auth.test":
                return (
                    200,
                    {"ok": True, "team": "standin", "user": "modeshift", "bot_id": "B0STANDIN"},
                    {},
                    False,
                )
            if method == "chat.postMessage":
                if not params.get("channel"):
                    return 200, {"ok": False, "error": "channel_not_found"}, {}, False
                state.messages += 1
                ts = f"{time.time():.0f}.{state.messages:06d}"
                metadata = params.get("metadata")
                state.history.append({"ts": ts, "text": params.get("text"), "channel": params["channel"],
                                      "metadata": json.loads(metadata) if isinstance(metadata, str) else metadata})  # fmt: skip
                return 200, {"ok": True, "channel": SlackStandIn.channel_id, "ts": ts,
                             "message": {"text": params.get("text"), "ts": ts}}, {}, False  # fmt: skip
            if method == "conversations.history":
                if params.get("channel") != SlackStandIn.channel_id:  # like Slack: an ID, not a #name
                    return 200, {"ok": False, "error": "channel_not_found"}, {}, False
                oldest = float(params.get("oldest") or 0)
                with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
                messages = [
                    {"type": "message", "ts": m["ts"], "text": m["text"]}
                    | ({"metadata": m["metadata"]} if with_metadata and m["metadata"] else {})
                    for m in reversed(state.history)
                    if float(m["ts"]) >= oldest
                ]
                return 200, {"ok": True, "messages": messages, "has_more": False}, {}, False
            if method == "files.getUploadURLExternal":
                if not params.get("filename") or not str(params.get("length", "")).isdigit():
                    return 200, {"ok": False, "error": "invalid_arguments"}, {}, False
                file_id = f"F{len(state.pending_files) + 1:05d}"
                state.pending_files[file_id] = params
                host, port = self.server.server_address[:2]
                return 200, {"ok": True, "file_id": file_id,
                             "upload_url": f"http://{host}:{port}/upload/{file_id}"}, {}, False  # fmt: skip
            if method == "files.completeUploadExternal":
                files = json.loads(params.get("files") or "[]")
                if not files or any(f.get("id") not in state.uploads for f in files):
                    return 200, {"ok": False, "error": "file_not_uploaded"}, {}, False
                return (
                    200,
                    {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]},
                    {},
                    False,
                )
            return 404, {"ok": False, "error": "unknown_method"}, {}, False

    return Handler
