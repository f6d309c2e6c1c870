"""Property-based tests of the canonical parsers (JSONL and CSV): hypothesis writes files of random records, valid
and invalid (token counts as ints, floats, strings, negatives, huge numbers, NaN; timestamps as ISO text, epoch
numbers, garbage; names with unicode and control characters; missing keys, extra keys, nested objects) and one
record it knows is valid, and staging must

* never raise,
* count every record: rows_in == records written == rows staged + rows quarantined,
* accept only rows that satisfy the record's invariants (non-negative integer tokens below 10^12, a timestamp inside
  the configured range, endpoint and model non-empty, short enough and without control characters),
* accept the known-valid record with exactly its values.

Each example gets its own fresh home (hypothesis runs many examples inside one test, and fixtures do not reset
between them). Examples are derandomized and few, so CI is repeatable and quick.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from tests.helpers import land_and_stage, staged_rows

CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}
TOKEN_LIMIT = 10**12
FIELDS = ("request_id", "ts", "endpoint", "model", "input_tokens", "output_tokens", "cached_input_tokens")
EXTRA_KEYS = ("prompt", "completion", "api_key_extra", "metadata", "usage", "Endpoint", "")

# A JSON value of any shape (objects nested a few levels deep).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
token_values = st.one_of(
    st.integers(-5, 5),
    st.integers(0, 2**64),
    st.integers(-(2**64), -1),
    st.floats(),  # fractions, NaN, infinities, huge
    st.integers(0, 10**6).map(str),
    st.text(max_size=8),
    st.sampled_from(["1e3", "12.0", " 7 ", "-0", "0x10", "1_000", ""]),
    json_values,
)
timezones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])
moments = st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2200, 1, 1), timezones=timezones)
ts_values = st.one_of(
    moments.map(lambda m: m.isoformat()),
    moments.map(lambda m: m.isoformat(sep=" ").rsplit("+", 1)[0]),  # no zone
    st.integers(-(2**40), 2**45),  # epoch numbers (seconds or milliseconds: the default unit is ISO text)
    st.floats(),
    st.text(max_size=25),
    st.sampled_from(["2026-13-45T99:00:00Z", "yesterday", "2026-11-02T10:00:00+25:00", "0000-00-00"]),
    json_values,
)
name_values = st.one_of(
    st.text(max_size=20),  # any unicode, control characters included
    st.text(alphabet=st.sampled_from("ab\x00\t\n\r\x1f\x7f é/'\";\u2028\u200b"), max_size=8),
    st.text(min_size=195, max_size=210, alphabet="xy"),  # around the 200-character limit
    json_values,
)
random_records = st.fixed_dictionaries(
    {},
    optional={
        "request_id": st.text(max_size=10).filter(lambda v: not v.startswith("valid-")) | st.integers(),
        "ts": ts_values,
        "endpoint": name_values,
        "model": name_values,
        "input_tokens": token_values,
        "output_tokens": token_values,
        "cached_input_tokens": token_values,
        "extra": st.dictionaries(st.sampled_from(EXTRA_KEYS), json_values, max_size=3),
    },
)
safe_names = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="-_./:"), min_size=1, max_size=40
)
valid_records = st.fixed_dictionaries(
    {
        "ts": st.datetimes(
            min_value=datetime(2020, 1, 1, 12), max_value=datetime(2026, 1, 1), timezones=timezones
        ),
        "endpoint": safe_names,
        "model": safe_names,
        "input_tokens": st.integers(0, TOKEN_LIMIT - 1),
        "output_tokens": st.integers(0, TOKEN_LIMIT - 1),
    }
)
files = st.tuples(
    st.lists(random_records, max_size=6),
    valid_records,
    st.integers(0, 6),  # where the valid record goes
    st.sampled_from(["jsonl", "csv"]),
    st.booleans(),  # JSON with raw unicode (True) or \\u escapes
)


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """The record as written: its canonical keys plus the extra keys at top level."""
    flat = {key: value for key, value in record.items() if key != "extra"}
    flat.update(record.get("extra", {}))
    return flat


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _write(path: Path, records: list[dict[str, Any]], kind: str, raw_unicode: bool) -> None:
    if kind == "jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=not raw_unicode) + "\n")
        return
    header: list[str] = ["request_id"]  # always a column, so that no record is a blank line
    for record in records:
        header += [key for key in record if key not in header]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for record in records:
            writer.writerow([_csv_cell(record.get(key)) for key in header])


@contextmanager
def _fresh_home() -> Iterator[tuple[Home, Settings, Path]]:
    with tempfile.TemporaryDirectory(prefix="modeshift-prop-") as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODESHIFT_HOME", f"{tmp}/home")
        patch.setenv("MODESHIFT_SALT", "prop-salt")
        home = Home(Path(tmp) / "home").ensure()
        yield home, Settings.load(home), Path(tmp)


def _assert_invariants(row: dict[str, Any], settings: Settings, latest: datetime) -> None:
    """What every accepted row must satisfy (docs/metrics.md#the-request-record)."""
    for name in ("input_tokens", "output_tokens"):
        assert isinstance(row[name], int) and 0 <= row[name] < TOKEN_LIMIT, (name, row[name])
    cached = row["cached_input_tokens"]
    assert cached is None or (isinstance(cached, int) and 0 <= cached <= row["input_tokens"]), cached
    ts = row["ts"]
    assert ts is not None
    earliest = datetime.combine(settings.ingest.start_date, datetime.min.time(), tzinfo=UTC)
    assert earliest <= ts <= latest, ts
    for name in ("endpoint", "model"):
        value = row[name]
        assert isinstance(value, str) and value.strip() != "", (name, value)
        assert len(value) <= settings.ingest.max_name_length, (name, len(value))
        assert not CONTROL & set(value), (name, value)
    assert row["day"] == ts.astimezone(UTC).date().isoformat()


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files)
def test_staging_counts_every_record_and_accepts_only_valid_rows(case) -> None:
    random_part, valid, position, kind, raw_unicode = case
    valid_record = {
        "request_id": "valid-0",
        "ts": valid["ts"].isoformat(),
        "endpoint": valid["endpoint"],
        "model": valid["model"],
        "input_tokens": valid["input_tokens"],
        "output_tokens": valid["output_tokens"],
    }
    records = [_flatten(r) for r in random_part]
    records.insert(min(position, len(records)), valid_record)
    with _fresh_home() as (home, settings, tmp):
        path = tmp / f"records.{kind}"
        _write(path, records, kind, raw_unicode)
        staged = land_and_stage(home, settings, path, "canonical")
        assert staged.rows_in == len(records)
        assert staged.rows_in == staged.rows_staged + staged.rows_quarantined
        accepted = staged_rows(home, staged.file_id, accepted=True)
        quarantined = staged_rows(home, staged.file_id, accepted=False)
        assert len(accepted) == staged.rows_staged and len(quarantined) == staged.rows_quarantined
        assert sorted(r["source_line"] for r in accepted + quarantined) == list(range(1, len(records) + 1))
        assert all(r["quarantine_reason"] for r in quarantined)
        latest = datetime.fromtimestamp(staged.landed_at_ns / 1e9, tz=UTC) + timedelta(
            hours=settings.ingest.max_future_hours
        )
        for row in accepted:
            _assert_invariants(row, settings, latest)
        (mine,) = [r for r in accepted if r["request_id"] == "valid-0"]
        assert mine["source_line"] == records.index(valid_record) + 1
        assert mine["ts"] == valid["ts"]  # the same instant, whatever the offset it was written with
        assert (mine["endpoint"], mine["model"]) == (valid["endpoint"], valid["model"])
        assert (mine["input_tokens"], mine["output_tokens"]) == (
            valid["input_tokens"],
            valid["output_tokens"],
        )
        assert mine["cached_input_tokens"] is None and mine["quarantine_reason"] is None


@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.integers(-(2**64), 2**64),
            st.floats(),
            st.integers(0, 10**13).map(str),
            st.sampled_from(["12", "12.0", "12.5", "-1", "1e12", "999999999999", "NaN", "inf", "", "x"]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["jsonl", "csv"]),
)
def test_a_token_count_is_accepted_exactly_when_it_is_a_non_negative_integer_below_10_12(
    values, kind
) -> None:
    """Only the token value varies; everything else in each record is valid. A value that names a whole number in
    [0, 10^12) (as a JSON number or as text) is accepted with that number; any other value is quarantined."""
    records = [
        {"request_id": f"t{i}", "ts": "2024-05-01T10:00:00Z", "endpoint": "e", "model": "m", "input_tokens": value,
         "output_tokens": 1}
        for i, value in enumerate(values)
    ]  # fmt: skip
    with _fresh_home() as (home, settings, tmp):
        path = tmp / f"tokens.{kind}"
        _write(path, records, kind, raw_unicode=False)
        staged = land_and_stage(home, settings, path, "canonical")
        assert staged.rows_in == len(records) == staged.rows_staged + staged.rows_quarantined
        accepted = {r["request_id"]: r["input_tokens"] for r in staged_rows(home, staged.file_id)}
        for i, value in enumerate(values):
            expected = _whole_number_below_limit(value)
            if expected is None:
                assert f"t{i}" not in accepted, (value, accepted.get(f"t{i}"))
            else:
                assert accepted.get(f"t{i}") == expected, (value, accepted.get(f"t{i}"))


def _whole_number_below_limit(value: Any) -> int | None:
    """The whole number in [0, 10^12) that ``value`` names (a JSON number or decimal text), else None."""
    if isinstance(value, str):
        try:
            value = float(value.strip()) if value.strip() else None
        except ValueError:
            return None
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return None
    if value != math.floor(value) or not 0 <= value < TOKEN_LIMIT:
        return None
    return int(value)
