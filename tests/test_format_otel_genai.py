"""The otel-genai format (OTLP/JSON trace lines, GenAI semantic conventions) through real landing + staging."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.ingest.formats import otel_genai
from pipelines.ingest.formats.records import RAW_COLUMNS, record_reader
from pipelines.ingest.landing import land_file
from tests.helpers import land_and_stage, staged_rows

TEXT_CANARY = "CANARY-TEXT"
KEY_CANARY = "CANARY-USER"
SALT = "test-salt"  # MODESHIFT_SALT in tests/conftest.py
USER = f"user-7f3a{KEY_CANARY}"
T0_NS = 1_714_557_600_000_000_000  # 2024-05-01T10:00:00Z
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def value(item: Any) -> dict[str, Any]:
    """An OTLP/JSON AnyValue: strings, booleans, whole numbers as decimal strings (int64), other numbers as doubles."""
    if isinstance(item, bool):
        return {"boolValue": item}
    if isinstance(item, int):
        return {"intValue": str(item)}
    if isinstance(item, float):
        return {"doubleValue": item}
    if isinstance(item, list):
        return {"arrayValue": {"values": [value(v) for v in item]}}
    if isinstance(item, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": value(v)} for k, v in item.items()]}}
    return {"stringValue": item}


def attributes(**items: Any) -> list[dict[str, Any]]:
    """OTLP attributes from keyword arguments (``__`` in a name stands for a dot); a value given as a dict with one
    of the AnyValue keys is taken as it is (an intValue written as a JSON number, for instance)."""
    out = []
    for name, item in items.items():
        if item is None:
            continue
        raw = isinstance(item, dict) and set(item) <= {"stringValue", "intValue", "doubleValue", "boolValue"}
        out.append({"key": name.replace("__", "."), "value": item if raw else value(item)})
    return out


def chat_span(
    number: int,
    start_ms: int = 0,
    duration_ms: int = 2500,
    extra: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One GenAI chat span as the OpenAI instrumentation writes it, with message content and events that must never
    be read (they carry the text canary)."""
    fields: dict[str, Any] = {
        "gen_ai__operation__name": "chat",
        "gen_ai__provider__name": "openai",
        "gen_ai__request__model": "gpt-4o",
        "gen_ai__response__model": "gpt-4o-2024-08-06",
        "gen_ai__response__id": f"chatcmpl-{number}",
        "gen_ai__usage__input_tokens": 1200,
        "gen_ai__usage__output_tokens": 300,
        "gen_ai__usage__cache_read__input_tokens": 256,
        "gen_ai__request__stream": True,
        "gen_ai__response__time_to_first_chunk": 0.35,
        "gen_ai__response__finish_reasons": ["stop"],
        "gen_ai__request__temperature": 0.2,
        "gen_ai__input__messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": TEXT_CANARY}]}]
        ),
        "gen_ai__output__messages": json.dumps([{"role": "assistant", "parts": [{"content": TEXT_CANARY}]}]),
        "gen_ai__system_instructions": f"You are helpful. {TEXT_CANARY}",
        "gen_ai__prompt__0__content": f"legacy prompt {TEXT_CANARY}",
        "gen_ai__completion__0__content": f"legacy completion {TEXT_CANARY}",
        "gen_ai__tool__call__arguments": {"query": TEXT_CANARY},
        "server__address": "api.openai.com",
        "user__id": USER,
    }
    fields.update(extra or {})
    for key in drop:
        fields.pop(key, None)
    start = T0_NS + start_ms * 1_000_000
    return {
        "traceId": f"{number:032X}",
        "spanId": f"{number:016x}",
        "parentSpanId": "",
        "name": f"chat gpt-4o {TEXT_CANARY}",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + duration_ms * 1_000_000),
        "attributes": attributes(**fields),
        "events": [
            {
                "timeUnixNano": str(start),
                "name": "gen_ai.content.prompt",
                "attributes": attributes(gen_ai__prompt=TEXT_CANARY),
            }
        ],
        "links": [{"traceId": "ab" * 16, "spanId": "cd" * 8, "attributes": attributes(note=TEXT_CANARY)}],
        "status": status if status is not None else {"code": 1},
    }


MODEL_KEYS = ("gen_ai__operation__name", "gen_ai__request__model", "gen_ai__response__model")


def http_span(number: int, start_ms: int = 0) -> dict[str, Any]:
    """A span of the same trace that is not a GenAI call (an HTTP server span)."""
    start = T0_NS + start_ms * 1_000_000
    return {
        "traceId": f"{number:032x}",
        "spanId": f"{number:016x}",
        "name": f"POST /v1/chat {TEXT_CANARY}",
        "kind": 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 3_000_000_000),
        "attributes": attributes(http__route="/v1/chat", http__request__method="POST"),
        "status": {"message": TEXT_CANARY},
    }


def resource(service: str | None, *scopes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """One ResourceSpans: a resource with service.name (and ``extra`` attributes), and one ScopeSpans per list."""
    return {
        "resource": {
            "attributes": attributes(service__name=service, process__command_args=TEXT_CANARY, **extra)
        },
        "scopeSpans": [
            {"scope": {"name": "opentelemetry.instrumentation.openai_v2", "version": "2.1b0"}, "spans": spans}
            for spans in scopes
        ],
        "schemaUrl": "https://opentelemetry.io/schemas/1.37.0",
    }


def line(*resources: dict[str, Any]) -> str:
    """One line of the collector's file exporter: a TracesData object."""
    return json.dumps({"resourceSpans": list(resources)})


def write(path: Path, lines: list[str]) -> Path:
    data = "".join(text + "\n" for text in lines).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def key_hash(user: str) -> str:
    """The client name normalize_rows.sql derives from a key: 'key-' + 16 hex digits of sha256(salt + key)."""
    return "key-" + hashlib.sha256((SALT + user).encode()).hexdigest()[:16]


# Line 1: two resources (chat-api: a chat span and an HTTP span; batch-svc: an older instrumentation writing
# gen_ai.system, the older cache-creation spelling, int64 values as JSON numbers, no response model or id).
# Line 2: one resource, two scopes (a failed streamed call, a call without ids and with a cache-write count).
LINES = [
    line(
        resource("chat-api", [chat_span(1, start_ms=0), http_span(2, start_ms=-10)]),
        resource(
            "batch-svc",
            [
                chat_span(
                    3,
                    start_ms=5000,
                    duration_ms=1250,
                    extra={
                        "gen_ai__system": "anthropic",
                        "gen_ai__request__model": "claude-3-5-sonnet",
                        "gen_ai__usage__input_tokens": {"intValue": 900},
                        "gen_ai__usage__output_tokens": {"intValue": 40},
                        "gen_ai__usage__cache_creation_input_tokens": {"intValue": 512},
                        "gen_ai__request__stream": False,
                        "user__id": None,
                        "enduser__id": "batch-robot",
                    },
                    drop=(
                        "gen_ai__provider__name",
                        "gen_ai__response__model",
                        "gen_ai__response__id",
                        "gen_ai__usage__cache_read__input_tokens",
                        "gen_ai__response__time_to_first_chunk",
                    ),
                )
            ],
        ),
    ),
    line(
        resource(
            "chat-api",
            [
                chat_span(
                    4,
                    start_ms=10_000,
                    extra={"error__type": "timeout", "gen_ai__usage__output_tokens": 0},
                    status={"code": 2, "message": f"upstream timeout {TEXT_CANARY}"},
                )
            ],
            [
                chat_span(
                    5,
                    start_ms=20_000,
                    extra={
                        "gen_ai__usage__cache_creation__input_tokens": 64,
                        "gen_ai__usage__cache_read_input_tokens": 256,  # the older spelling
                        "user__id": None,
                    },
                    drop=("gen_ai__response__id", "gen_ai__usage__cache_read__input_tokens"),
                )
                | {"traceId": "", "spanId": ""}
            ],
        )
    ),
]


def check_rows(home: Home, file_id: str) -> None:
    """The exact values LINES must land as."""
    rows = staged_rows(home, file_id)
    assert [row["source_line"] for row in rows] == [1, 3, 4, 5]
    first, third, fourth, fifth = rows
    assert first["request_id"] == "chatcmpl-1"
    assert first["ts"] == T0
    assert (first["endpoint"], first["model"]) == ("chat-api", "gpt-4o-2024-08-06")
    assert (first["input_tokens"], first["output_tokens"], first["cached_input_tokens"]) == (1200, 300, 256)
    assert (first["latency_ms"], first["ttft_ms"], first["ok"], first["stream"]) == (
        2500.0,
        350.0,
        True,
        True,
    )
    assert (first["client"], first["deployment_mode"], first["billed_cost_usd"]) == (
        key_hash(USER),
        "serverless",
        None,
    )

    # ids from the trace and span ids (hex, lower-cased); the request model when no response model
    assert third["request_id"] == f"{3:032x}:{3:016x}"
    assert third["ts"] == datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
    assert (third["endpoint"], third["model"]) == ("batch-svc", "claude-3-5-sonnet")
    assert (third["input_tokens"], third["output_tokens"], third["cached_input_tokens"]) == (900, 40, None)
    assert (third["latency_ms"], third["ttft_ms"], third["stream"]) == (1250.0, None, False)
    assert third["client"] == key_hash("batch-robot")

    assert (fourth["request_id"], fourth["ok"], fourth["output_tokens"]) == ("chatcmpl-4", False, 0)

    # no ids at all: the id is derived from the content and the record number (as for every format)
    assert fifth["request_id"].endswith(":5") and fifth["client"] is None
    assert (fifth["input_tokens"], fifth["cached_input_tokens"], fifth["ok"]) == (1200, 256, True)

    quarantined = staged_rows(home, file_id, accepted=False)
    assert [(row["source_line"], row["quarantine_reason"]) for row in quarantined] == [
        (
            2,
            "not a GenAI span: no gen_ai.operation.name, gen_ai.provider.name, gen_ai.system or model attribute",
        )
    ]


def test_spans_of_several_resources_and_scopes_land_exact_values(home, settings, tmp_path):
    staged = land_and_stage(home, settings, write(tmp_path / "traces.jsonl", LINES), "otel-genai")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (5, 4, 1)
    assert staged.note is None  # the fast reader's count matched the independent count
    check_rows(home, staged.file_id)


def test_gzip_lands_the_same_rows_and_ids(home, settings, tmp_path):
    plain = land_and_stage(home, settings, write(tmp_path / "traces.jsonl", LINES), "otel-genai")
    packed = land_and_stage(home, settings, write(tmp_path / "traces.jsonl.gz", LINES), "otel-genai")
    assert packed.file_id != plain.file_id and packed.note is None
    check_rows(home, packed.file_id)
    ids = [[row["request_id"] for row in staged_rows(home, staged.file_id)] for staged in (plain, packed)]
    assert ids[0] == ids[1]


def test_endpoint_from_a_route_attribute_and_the_endpoint_override(home, settings, tmp_path):
    lines = [
        line(
            resource("chat-api", [chat_span(1, extra={"http__route": "/v1/chat/completions"}), chat_span(2)]),
            # the attribute on the resource when the span lacks it
            resource("other", [chat_span(3)], http__route="/v1/embeddings"),
        )
    ]
    path = write(tmp_path / "traces.jsonl", lines)
    staged = land_and_stage(home, settings, path, "otel-genai", {"endpoint_attribute": "http.route"})
    rows = staged_rows(home, staged.file_id)
    assert [row["endpoint"] for row in rows] == ["/v1/chat/completions", "/v1/embeddings"]
    (missing,) = staged_rows(home, staged.file_id, accepted=False)
    assert (missing["source_line"], missing["quarantine_reason"]) == (2, "missing endpoint")

    forced = land_and_stage(
        home,
        settings,
        write(tmp_path / "forced.jsonl", [*lines, line(resource("x", [chat_span(9)]))]),
        "otel-genai",
        {"endpoint_attribute": "http.route", "endpoint": "gateway"},
    )
    assert [row["endpoint"] for row in staged_rows(home, forced.file_id)] == ["gateway"] * 4


def test_broken_lines_and_spans_are_quarantined_with_reasons_and_every_record_is_counted(
    home, settings, tmp_path
):
    lines = [
        line(
            resource(
                "svc",
                [chat_span(1), chat_span(2, drop=("gen_ai__request__model", "gen_ai__response__model"))],
            )
        ),
        "{this is not json",
        line(resource("svc", [chat_span(3, extra={"gen_ai__usage__input_tokens": -5})])),
        json.dumps({"resourceSpans": []}),
        line(
            resource(
                "svc",
                [
                    chat_span(4, extra={"gen_ai__usage__cache_creation__input_tokens": -1}),
                    chat_span(5, extra={"gen_ai__operation__name": "invoke_agent"}),
                    chat_span(6, extra={"gen_ai__usage__output_tokens": {"boolValue": True}}),
                    chat_span(7) | {"startTimeUnixNano": "soon"},
                    chat_span(8, extra={"gen_ai__usage__output_tokens": {"doubleValue": 12.5}}),
                    chat_span(9, extra={"gen_ai__usage__cache_write__input_tokens": 128}),
                    chat_span(10, extra={"gen_ai__usage__cache_write__input_tokens": "many"}),
                    # a GenAI span by its provider alone (either spelling) still needs a model
                    chat_span(11, drop=MODEL_KEYS),
                    chat_span(
                        12, drop=(*MODEL_KEYS, "gen_ai__provider__name"), extra={"gen_ai__system": "openai"}
                    ),
                    chat_span(13, drop=(*MODEL_KEYS, "gen_ai__provider__name")),
                ],
            )
        ),
    ]
    staged = land_and_stage(home, settings, write(tmp_path / "broken.jsonl", lines), "otel-genai")
    # records: 2 spans + 1 unreadable line + 1 span + 1 empty envelope + 10 spans
    assert staged.rows_in == 15 == staged.rows_staged + staged.rows_quarantined
    assert [row["request_id"] for row in staged_rows(home, staged.file_id)] == ["chatcmpl-1", "chatcmpl-9"]
    reasons = {
        row["source_line"]: row["quarantine_reason"] for row in staged_rows(home, staged.file_id, False)
    }
    assert reasons == {
        2: "missing model",
        3: "unreadable line: not a JSON object with any expected field",
        4: "input_tokens -5.0 is not a non-negative integer below 10^12",
        5: "no spans in this line (an OTLP envelope without resourceSpans[].scopeSpans[].spans[])",
        6: "gen_ai.usage.cache_creation.input_tokens '-1' is not a non-negative integer below 10^12",
        7: "not a model call: gen_ai.operation.name is invoke_agent (its model calls are spans of their own)",
        8: "output_tokens is a boolean (true), not a number",
        9: "startTimeUnixNano 'soon' is not a whole number of nanoseconds",
        10: "output_tokens 12.5 is not a non-negative integer below 10^12",
        12: "gen_ai.usage.cache_creation.input_tokens 'many' is not a non-negative integer below 10^12",
        13: "missing model",
        14: "missing model",
        15: "not a GenAI span: no gen_ai.operation.name, gen_ai.provider.name, gen_ai.system or model attribute",
    }


def test_damaged_lines_and_a_cut_gzip_stream_keep_the_numbering(home, settings, tmp_path):
    good = [line(resource("svc", [chat_span(1), chat_span(2)])), line(resource("svc", [chat_span(3)]))]
    data = (good[0] + "\n").encode() + b'{"resourceSpans": "\xff\xfe"}\n' + (good[1] + "\n").encode()
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(data)
    staged = land_and_stage(home, settings, path, "otel-genai")
    assert staged.rows_in == 4
    assert [(r["source_line"], r["request_id"]) for r in staged_rows(home, staged.file_id)] == [
        (1, "chatcmpl-1"),
        (2, "chatcmpl-2"),
        (4, "chatcmpl-3"),
    ]
    (bad,) = staged_rows(home, staged.file_id, accepted=False)
    assert (
        bad["source_line"] == 3
    )  # DuckDB's reader refuses the line alone: the file is read on the fast path
    assert bad["quarantine_reason"] == "unreadable line: not a JSON object with any expected field"

    # a gzip stream cut in the middle of the last line: the lines before it, and one record for the cut-off tail
    whole = gzip.compress("".join(text + "\n" for text in good).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) - 40])
    truncated = land_and_stage(home, settings, cut, "otel-genai")
    assert truncated.note is not None and truncated.note.startswith("read record by record")
    assert truncated.rows_in == truncated.rows_staged + truncated.rows_quarantined
    assert [row["request_id"] for row in staged_rows(home, truncated.file_id)] == ["chatcmpl-1", "chatcmpl-2"]
    assert staged_rows(home, truncated.file_id, accepted=False)[-1]["quarantine_reason"].startswith(
        "file truncated"
    )


def test_the_record_by_record_reader_gives_the_same_raw_rows_and_keeps_no_text(tmp_path):
    path = write(
        tmp_path / "traces.jsonl",
        [*LINES, "not json", json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [7, None]}]}]})],
    )
    salvage_dir = tmp_path / "salvage"
    salvage_dir.mkdir()
    with connect() as con:
        fast = otel_genai.raw_rows(".jsonl", {}, record_reader(con, path, ".jsonl")).fetchall()
        slow = otel_genai.raw_rows(".jsonl", {}, record_reader(con, path, ".jsonl", salvage_dir)).fetchall()
    assert len(fast) == 5 + 1 + 2
    assert [row[:1] + row[2:] for row in slow] == [row[:1] + row[2:] for row in fast]  # reasons may differ
    assert [row[1] is None for row in slow[:5]] == [row[1] is None for row in fast[:5]]
    written = list(salvage_dir.rglob("*"))
    assert written and not any(TEXT_CANARY.encode() in p.read_bytes() for p in written if p.is_file())
    assert otel_genai.count_records(path, None, 1 << 20, careful=True) == 8
    assert otel_genai.count_records(path, None, 1 << 20, careful=False) == 8


def test_raw_rows_have_the_raw_columns_and_never_carry_text(tmp_path):
    path = write(tmp_path / "traces.jsonl", LINES)
    with connect() as con:
        relation = otel_genai.raw_rows(".jsonl", {}, record_reader(con, path, ".jsonl"))
        assert relation.columns == ["source_line", "parse_error", *RAW_COLUMNS]
        rows = relation.fetchall()
    assert len(rows) == 5
    assert not any(TEXT_CANARY in str(item) for row in rows for item in row)


def test_no_text_and_no_user_id_is_stored_anywhere_in_the_home(home, settings, tmp_path):
    for path in (write(tmp_path / "traces.jsonl", LINES), write(tmp_path / "traces.jsonl.gz", LINES)):
        land_and_stage(home, settings, path, "otel-genai")
    assert len(list(home.staged.glob("*/_manifest.json"))) == 2
    found = []
    for path in home.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            if TEXT_CANARY.encode() in data or KEY_CANARY.encode() in data:
                found.append(path)
    assert found == []


def test_span_numbers_follow_the_file_order_on_a_larger_file(home, settings, tmp_path):
    lines = [
        line(*(resource(f"svc-{r}", [chat_span(1000 * n + 10 * r + s) for s in range(3)]) for r in range(2)))
        for n in range(1, 1500)
    ]
    path = write(tmp_path / "many.jsonl", lines)
    staged = land_and_stage(home, settings, path, "otel-genai")
    assert staged.rows_in == staged.rows_staged == 1499 * 6
    rows = staged_rows(home, staged.file_id)
    expected = [
        f"chatcmpl-{1000 * n + 10 * r + s}" for n in range(1, 1500) for r in range(2) for s in range(3)
    ]
    assert [row["request_id"] for row in rows] == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"anchor": "2024-05-01T00:00:00Z"}, "does not take --anchor"),
        ({"ts_unit": "ms"}, "does not take --ts-unit"),
        ({"model": "gpt-4o"}, "does not take --model"),
        ({"endpoint_attribute": "gen_ai.input.messages"}, "carries message content"),
        ({"endpoint_attribute": "  "}, "not usable"),
    ],
)
def test_options_that_do_not_apply_are_refused_at_landing(home, tmp_path, options, message):
    with pytest.raises(ModeshiftError, match=message):
        land_file(home, write(tmp_path / "traces.jsonl", LINES), "otel-genai", options)


def test_other_formats_refuse_the_endpoint_attribute(home, tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text('{"ts": "2024-05-01T10:00:00Z"}\n')
    with pytest.raises(ModeshiftError, match="canonical format does not take --endpoint-attribute"):
        land_file(home, path, "canonical", {"endpoint_attribute": "http.route"})


def test_csv_is_refused(home, tmp_path):
    path = tmp_path / "traces.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ModeshiftError, match="reads jsonl files"):
        land_file(home, path, "otel-genai", {})


def test_the_command_line_lands_the_endpoint_attribute(home, tmp_path, capsys):
    from pipelines.app.cli import main
    from pipelines.ingest.landing import landed_files

    path = write(tmp_path / "traces.jsonl", LINES)
    assert main(["ingest", "--format", "otel-genai", "--endpoint-attribute", "http.route", str(path)]) == 0
    capsys.readouterr()
    (landed,) = landed_files(home)
    assert (landed.format, landed.options) == ("otel-genai", {"endpoint_attribute": "http.route"})
    assert main(["ingest", "--format", "litellm", "--endpoint-attribute", "http.route", str(path)]) == 2
    assert "does not take --endpoint-attribute" in capsys.readouterr().err


def test_a_record_count_that_disagrees_sends_the_file_to_the_careful_reader(
    home, settings, tmp_path, monkeypatch
):
    counted = otel_genai.count_records

    def one_too_many(path: Path, content: Any, max_record_bytes: int, careful: bool) -> int | None:
        real = counted(path, content, max_record_bytes, careful)
        return real if careful or real is None else real + 1

    monkeypatch.setattr(otel_genai, "count_records", one_too_many)
    staged = land_and_stage(home, settings, write(tmp_path / "traces.jsonl", LINES), "otel-genai")
    assert staged.note == "read record by record: the file holds 6 records but 5 were read"
    check_rows(
        home, staged.file_id
    )  # the careful count (Python's JSON decoder) agrees with the careful reader


def test_a_json_array_of_traces_data_lands_the_same_rows(home, settings, tmp_path):
    path = tmp_path / "traces.json"
    path.write_text("[\n" + ",\n".join(LINES) + "\n]\n")
    staged = land_and_stage(home, settings, path, "otel-genai")
    assert (staged.rows_in, staged.rows_staged) == (5, 4)
    check_rows(home, staged.file_id)
