"""The azure-trace format (2023 and 2024 timestamp shapes) through real landing + staging + normalization."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.ingest.formats import azure_trace
from pipelines.ingest.formats.records import RAW_COLUMNS, record_reader
from pipelines.ingest.landing import land_file
from tests.helpers import derived_id_prefix, land_and_stage, staged_rows

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
# 2023 release: seven fractional digits, no zone (UTC). DuckDB keeps microseconds and DROPS the seventh digit
# (truncation, not rounding: .9799996 stays .979999, it does not become .980000).
ROWS_2023 = [
    ("2023-11-16 18:17:03.9799600", 4808, 10, datetime(2023, 11, 16, 18, 17, 3, 979960, tzinfo=UTC)),
    ("2023-11-16 18:17:04.0000009", 3180, 8, datetime(2023, 11, 16, 18, 17, 4, 0, tzinfo=UTC)),
    ("2023-11-16 18:17:04.9999996", 110, 27, datetime(2023, 11, 16, 18, 17, 4, 999999, tzinfo=UTC)),
    ("2023-11-16 23:59:59.9999999", 7242, 9, datetime(2023, 11, 16, 23, 59, 59, 999999, tzinfo=UTC)),
]
# 2024 release: +00:00 and a varying number of fractional digits.
ROWS_2024 = [
    ("2024-05-10 00:00:01.123+00:00", 374, 44, datetime(2024, 5, 10, 0, 0, 1, 123000, tzinfo=UTC)),
    ("2024-05-10 00:00:02.1+00:00", 396, 109, datetime(2024, 5, 10, 0, 0, 2, 100000, tzinfo=UTC)),
    ("2024-05-10 00:00:03.654321+00:00", 879, 0, datetime(2024, 5, 10, 0, 0, 3, 654321, tzinfo=UTC)),
    ("2024-05-10 00:00:04+00:00", 91, 2, datetime(2024, 5, 10, 0, 0, 4, tzinfo=UTC)),
]


def write_trace(path: Path, rows: list[tuple[str, int, int, datetime]]) -> Path:
    path.write_text(
        HEADER + "".join(f"{stamp},{context},{generated}\n" for stamp, context, generated, _ in rows)
    )
    return path


@pytest.mark.parametrize("rows", [ROWS_2023, ROWS_2024], ids=["2023", "2024"])
def test_both_timestamp_shapes_land_to_the_microsecond(home, settings, tmp_path, rows):
    path = write_trace(tmp_path / "AzureLLMInferenceTrace_code.csv", rows)
    options = {"endpoint": "azure-code", "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo"}
    staged = land_and_stage(home, settings, path, "azure-trace", options)
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (len(rows), len(rows), 0)
    assert staged.note is None
    landed = staged_rows(home, staged.file_id)
    assert [row["ts"] for row in landed] == [expected for _, _, _, expected in rows]
    assert [(row["input_tokens"], row["output_tokens"]) for row in landed] == [(c, g) for _, c, g, _ in rows]
    assert {row["endpoint"] for row in landed} == {"azure-code"}
    assert {row["model"] for row in landed} == {"meta-llama/Llama-3.3-70B-Instruct-Turbo"}
    assert [row["request_id"] for row in landed] == [
        f"{derived_id_prefix(path.read_bytes())}:{line}" for line in range(1, len(rows) + 1)
    ]
    # No status, latency, signal or client in the trace: zero output is NOT a failure here.
    assert {
        (row["ok"], row["latency_ms"], row["ttft_ms"], row["interactive"], row["client"]) for row in landed
    } == {(True, None, None, None, None)}


def test_without_a_model_option_rows_carry_the_unpriced_model_unknown(home, settings, tmp_path):
    path = write_trace(tmp_path / "conv.csv", ROWS_2024)
    staged = land_and_stage(home, settings, path, "azure-trace", {"endpoint": "azure-conv"})
    assert (
        {row["model"] for row in staged_rows(home, staged.file_id)}
        == {azure_trace.UNKNOWN_MODEL}
        == {"unknown"}
    )


def test_bad_rows_are_quarantined_with_their_reason(home, settings, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER + "2024-05-10 00:00:01+00:00,10,5\n2024-05-10 25:00:00,10,5\n2024-05-10 00:00:02,-4,5\n"
    )
    staged = land_and_stage(home, settings, path, "azure-trace", {"endpoint": "azure-conv"})
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (3, 1, 2)
    reasons = [row["quarantine_reason"] for row in staged_rows(home, staged.file_id, accepted=False)]
    assert reasons[0].startswith("unreadable timestamp '2024-05-10 25:00:00'")
    assert reasons[1].startswith("input_tokens -4.0 is not a non-negative integer")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs an endpoint"),
        ({"model": "m"}, "needs an endpoint"),
        ({"endpoint": "   "}, "not usable"),
        ({"endpoint": "bad\nname"}, "not usable"),
        ({"endpoint": "azure-code", "model": ""}, "not usable"),
        ({"endpoint": "azure-code", "anchor": "2023-11-16T00:00:00Z"}, "does not take --anchor"),
    ],
)
def test_bad_options_are_refused_at_landing(home, tmp_path, options, message):
    path = write_trace(tmp_path / "trace.csv", ROWS_2023)
    with pytest.raises(ModeshiftError, match=message) as refused:
        land_file(home, path, "azure-trace", options)
    if not options.get("endpoint"):
        assert "--endpoint" in refused.value.hint
    assert not list(home.landing.iterdir())


def test_raw_rows_have_exactly_the_raw_columns(tmp_path):
    path = write_trace(tmp_path / "trace.csv", ROWS_2023)
    with connect() as con:
        relation = azure_trace.raw_rows(".csv", {"endpoint": "e"}, record_reader(con, path, ".csv"))
        assert relation.columns == ["source_line", "parse_error", *RAW_COLUMNS]
        assert {str(t) for t in relation.types[1:]} == {"VARCHAR"}
        assert relation.fetchall()[0][2:8] == (
            None,
            "2023-11-16 18:17:03.9799600",
            None,
            "unknown",
            "4808",
            "10",
        )


def test_the_model_option_is_a_bound_value_never_sql_text(home, settings, tmp_path):
    model = "o'brien\"); DROP TABLE records; --"
    path = write_trace(tmp_path / "trace.csv", ROWS_2023[:1])
    staged = land_and_stage(home, settings, path, "azure-trace", {"endpoint": "azure-code", "model": model})
    assert [row["model"] for row in staged_rows(home, staged.file_id)] == [model]
