"""A corpus of broken inputs, generated here: each one is ingested without a crash, nothing is lost
(rows in = rows staged + rows quarantined), bad rows carry a reason, and the good rows of the file still land."""

from __future__ import annotations

import gzip
import json

import pytest

from pipelines.core.errors import ModeshiftError
from pipelines.ingest.landing import land_file
from tests.helpers import land_and_stage, staged_rows

GOOD = {
    "ts": "2026-11-02T10:00:00Z",
    "endpoint": "e",
    "model": "m",
    "input_tokens": 10,
    "output_tokens": 2,
}
GOOD_LINE = json.dumps(GOOD).encode()
CSV_HEADER = b"ts,endpoint,model,input_tokens,output_tokens\n"
CSV_GOOD = b"2026-11-02T10:00:00Z,e,m,10,2\n"


def _gz(data: bytes) -> bytes:
    return gzip.compress(data)


# name -> (file suffix, bytes, options, rows expected staged, a reason expected among the quarantined, if any)
CASES: dict[str, tuple[str, bytes, dict, int, str | None]] = {
    "empty file": (".jsonl", b"", {}, 0, None),
    "only blank lines": (".jsonl", b"\n\n  \n", {}, 0, None),
    "utf-8 bom": (".jsonl", b"\xef\xbb\xbf" + GOOD_LINE + b"\n", {}, 1, None),
    "crlf line ends": (".jsonl", GOOD_LINE + b"\r\n" + GOOD_LINE + b"\r\n", {}, 2, None),
    "no final newline": (".jsonl", GOOD_LINE + b"\n" + GOOD_LINE, {}, 2, None),
    "invalid utf-8 line": (".jsonl", GOOD_LINE + b'\n{"ts": "\xff\xfe"}\n', {}, 1, "line"),
    "json array line": (".jsonl", GOOD_LINE + b"\n[1, 2]\n", {}, 1, "unreadable line"),
    "json string line": (".jsonl", GOOD_LINE + b'\n"hello"\n', {}, 1, "unreadable line"),
    "truncated json object": (".jsonl", GOOD_LINE + b'\n{"ts": "2026-11-02T10:00:00Z", "endp', {}, 1, "unreadable"),
    "nested nulls": (".jsonl", GOOD_LINE + b'\n{"ts": null, "endpoint": {"a": null}}\n', {}, 1, "missing timestamp"),
    "tokens as strings": (".jsonl", json.dumps({**GOOD, "input_tokens": "10"}).encode() + b"\n", {}, 1, None),
    "tokens as float": (".jsonl", json.dumps({**GOOD, "input_tokens": 10.5}).encode() + b"\n", {}, 0, "10.5"),
    "tokens negative": (".jsonl", json.dumps({**GOOD, "output_tokens": -2}).encode() + b"\n", {}, 0, "-2"),
    "tokens 2^63": (".jsonl", json.dumps({**GOOD, "input_tokens": 2**63}).encode() + b"\n", {}, 0, "10^12"),
    "timestamp other zone": (".jsonl", json.dumps({**GOOD, "ts": "2026-11-02T12:00:00+02:00"}).encode() + b"\n", {}, 1, None),
    "timestamp epoch seconds": (".jsonl", json.dumps({**GOOD, "ts": 1793613600}).encode() + b"\n", {"ts_unit": "s"}, 1, None),
    "timestamp epoch ms as s": (".jsonl", json.dumps({**GOOD, "ts": 1793613600000}).encode() + b"\n", {"ts_unit": "s"}, 0, "unreadable timestamp"),
    "date in 1970": (".jsonl", json.dumps({**GOOD, "ts": "1970-01-01T00:00:00Z"}).encode() + b"\n", {}, 0, "start date"),
    "date in 2100": (".jsonl", json.dumps({**GOOD, "ts": "2100-01-01T00:00:00Z"}).encode() + b"\n", {}, 0, "future"),
    "local time without zone": (".jsonl", json.dumps({**GOOD, "ts": "2026-10-25 02:30:00"}).encode() + b"\n", {}, 1, None),
    "duplicate ids in one file": (".jsonl", (json.dumps({**GOOD, "request_id": "x"}) + "\n").encode() * 3, {}, 3, None),
    "sql in endpoint": (".jsonl", json.dumps({**GOOD, "endpoint": "x'); DROP TABLE requests; --"}).encode() + b"\n", {}, 1, None),
    "path separators in endpoint": (".jsonl", json.dumps({**GOOD, "endpoint": "../../etc/passwd"}).encode() + b"\n", {}, 1, None),
    "control characters in endpoint": (".jsonl", json.dumps({**GOOD, "endpoint": "a\u0000b"}).encode() + b"\n", {}, 0, "control"),
    "very long endpoint": (".jsonl", json.dumps({**GOOD, "endpoint": "e" * 5000}).encode() + b"\n", {}, 0, "too long"),
    "a 10 MB line": (".jsonl", json.dumps({**GOOD, "prompt": "x" * 10_000_000}).encode() + b"\n" + GOOD_LINE + b"\n", {}, 2, None),
    "a 20 MB line, past the fast reader's limit": (".jsonl", json.dumps({**GOOD, "prompt": "x" * 20_000_000}).encode() + b"\n" + GOOD_LINE + b"\n", {}, 2, None),
    "truncated gzip": (".jsonl.gz", _gz(GOOD_LINE + b"\n" * 1 + (GOOD_LINE + b"\n") * 500)[:-40], {}, None, "truncated"),
    "gzip of an empty file": (".jsonl.gz", _gz(b""), {}, 0, None),
    "csv header only": (".csv", CSV_HEADER, {}, 0, None),
    "csv columns in another order": (".csv", b"output_tokens,model,endpoint,input_tokens,ts\n2,m,e,10,2026-11-02T10:00:00Z\n", {}, 1, None),
    "csv row with too many fields": (".csv", CSV_HEADER + CSV_GOOD + b"2026-11-02T10:00:00Z,e,m,10,2,EXTRA\n" + CSV_GOOD, {}, 2, "fields"),
    "csv invalid utf-8": (".csv", CSV_HEADER + CSV_GOOD + b"2026-11-02T10:00:00Z,\xff,m,10,2\n", {}, 1, "UTF-8"),
    "csv quoted comma and newline": (".csv", CSV_HEADER + b'2026-11-02T10:00:00Z,"a,\nb",m,10,2\n', {}, 0, "control"),
    "timestamp infinity": (".jsonl", GOOD_LINE + b"\n" + json.dumps({**GOOD, "ts": "infinity"}).encode() + b"\n", {}, 1, "not a finite time"),
    "csv timestamp -infinity": (".csv", CSV_HEADER + CSV_GOOD + b"-infinity,e,m,10,2\n", {}, 1, "not a finite time"),
    "csv unterminated quote": (".csv", CSV_HEADER + b'2026-11-02T10:00:00Z,"e,m,10,2\n' + CSV_GOOD * 150, {}, 150, "unterminated quote?"),
    "csv quote open at the end": (".csv", CSV_HEADER + CSV_GOOD * 3 + b'2026-11-02T10:00:00Z,e,m,10,"2\n' + CSV_GOOD, {}, 4, "never closes"),
    "csv crlf and bom": (".csv", b"\xef\xbb\xbf" + CSV_HEADER.replace(b"\n", b"\r\n") + CSV_GOOD.replace(b"\n", b"\r\n"), {}, 1, None),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_input_is_ingested_without_loss(name, home, settings, tmp_path):
    suffix, data, options, staged_expected, reason = CASES[name]
    path = tmp_path / f"case{suffix}"
    path.write_bytes(data)
    staged = land_and_stage(home, settings, path, "canonical", options)
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined
    if staged_expected is not None:
        assert staged.rows_staged == staged_expected
    quarantined = staged_rows(home, staged.file_id, accepted=False)
    if reason is not None:
        assert any(reason in (row["quarantine_reason"] or "") for row in quarantined), [
            row["quarantine_reason"] for row in quarantined
        ]
    assert all(row["quarantine_reason"] for row in quarantined)


def test_a_boolean_token_count_is_quarantined(home, settings, tmp_path):
    path = tmp_path / "bool.jsonl"
    path.write_bytes(json.dumps({**GOOD, "input_tokens": True}).encode() + b"\n")
    assert land_and_stage(home, settings, path, "canonical").rows_quarantined == 1


def test_there_are_at_least_thirty_kinds():
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    ("fmt", "options", "message"),
    [
        ("nonsense", {}, "Unknown format"),
        ("canonical", {"ts_unit": "fortnights"}, "Unknown timestamp unit"),
        ("canonical", {"anchor": "yesterday-ish"}, "not an ISO-8601 time"),
        ("burstgpt", {}, "anchor"),
        ("azure-trace", {}, "endpoint"),
    ],
)
def test_bad_options_are_one_clear_error(home, tmp_path, fmt, options, message):
    path = tmp_path / ("a.csv" if fmt in ("burstgpt", "azure-trace") else "a.jsonl")
    path.write_bytes(b"")
    with pytest.raises(ModeshiftError, match=message):
        land_file(home, path, fmt, options)


def test_an_unreadable_parquet_file_is_a_clear_error(home, settings, tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ModeshiftError, match="not a readable Parquet file"):
        land_and_stage(home, settings, path, "canonical")


def test_an_unwritable_home_is_one_clear_sentence(tmp_path, monkeypatch, capsys):
    import os

    from pipelines.app.cli import main

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("MODESHIFT_HOME", str(locked / "home"))
    if os.geteuid() == 0:  # root writes anywhere: use a path under a file instead
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        monkeypatch.setenv("MODESHIFT_HOME", str(blocker / "home"))
    assert (
        main(["materialize", "--quiet"]) == 2
    )  # a command that writes (status only reads: it never creates one)
    err = capsys.readouterr().err
    assert err.startswith("modeshift: error: Cannot create the modeshift home") and "Traceback" not in err
