"""Issue #12, part A: inputs that used to be lost or to poison every later run.

Every case checks the accounting identity against an independent count of the file's records: physical lines of the
bytes written here (never the parser that could be fooled), or the Parquet footer's row count.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.staging import StagedFile, check_day_keys
from tests.helpers import land_and_stage, staged_rows

GOOD = {"ts": "2026-11-02T10:00:00Z", "endpoint": "e", "model": "m", "input_tokens": 10, "output_tokens": 2}
CSV_HEADER = "ts,endpoint,model,input_tokens,output_tokens\n"


def physical_records(path: Path) -> int:
    """The records of a file counted without a parser: non-blank lines (JSONL), non-empty lines after the header
    (CSV, no quoted newlines in these files), the footer's row count (Parquet)."""
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    lines = path.read_bytes().splitlines()
    if path.suffix == ".csv":
        return sum(1 for line in lines[1:] if line)
    return sum(1 for line in lines if line.strip())


def assert_balanced(path: Path, staged: StagedFile) -> None:
    """rows in = accepted + quarantined, and rows in = the file's own count of records."""
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined
    assert staged.rows_in == physical_records(path)


def reasons(home: Home, staged: StagedFile) -> list[str]:
    return [row["quarantine_reason"] for row in staged_rows(home, staged.file_id, accepted=False)]


# --- 1. non-finite timestamps ------------------------------------------------------------------------------------


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


INFINITE_TS = ["infinity", "-infinity", "Infinity", " INFINITY ", "-Infinity"]


@pytest.mark.parametrize("text", INFINITE_TS)
def test_an_infinite_iso_timestamp_is_quarantined_in_jsonl(home, settings, tmp_path, text):
    path = _jsonl(tmp_path / "inf.jsonl", [GOOD, {**GOOD, "ts": text}, GOOD])
    staged = land_and_stage(home, settings, path, "canonical")
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 2}
    assert staged.rows_quarantined == 1 and "is not a finite time" in reasons(home, staged)[0]


@pytest.mark.parametrize("text", ["infinity", "-infinity"])
def test_an_infinite_timestamp_is_quarantined_in_csv(home, settings, tmp_path, text):
    path = tmp_path / "inf.csv"
    path.write_text(CSV_HEADER + "2026-11-02T10:00:00Z,e,m,10,2\n" + f"{text},e,m,10,2\n" * 3)
    staged = land_and_stage(home, settings, path, "canonical")
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert reasons(home, staged) == [f"timestamp '{text}' is not a finite time"] * 3


def test_an_infinite_litellm_start_time_is_quarantined(home, settings, tmp_path):
    record = {
        "request_id": "a",
        "startTime": "2026-11-02T10:00:00Z",
        "endTime": "2026-11-02T10:00:01Z",
        "model": "gpt-4o",
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "status": "success",
    }
    path = _jsonl(
        tmp_path / "spend.jsonl",
        [record, {**record, "request_id": "b", "startTime": "infinity", "endTime": "infinity"},
         {**record, "request_id": "c", "startTime": "-infinity"}],
    )  # fmt: skip
    staged = land_and_stage(home, settings, path, "litellm")
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert sorted(reasons(home, staged)) == [
        "timestamp '-infinity' is not a finite time",
        "timestamp 'infinity' is not a finite time",
    ]


@pytest.mark.parametrize("text", ["infinity", "-infinity"])
def test_an_infinite_azure_trace_timestamp_is_quarantined(home, settings, tmp_path, text):
    path = tmp_path / "azure.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2026-11-02 10:00:00.1234567,10,2\n" + f"{text},10,2\n"
    )
    staged = land_and_stage(home, settings, path, "azure-trace", {"endpoint": "svc"})
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert reasons(home, staged) == [f"timestamp '{text}' is not a finite time"]


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "infinity"])
def test_an_infinite_burstgpt_offset_is_an_unreadable_timestamp(home, settings, tmp_path, text):
    path = tmp_path / "burst.csv"
    path.write_text(
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        f"5.0,ChatGPT,10,2,12,Conversation log\n{text},ChatGPT,10,2,12,Conversation log\n"
    )
    staged = land_and_stage(home, settings, path, "burstgpt", {"anchor": "2026-11-02T00:00:00Z"})
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert reasons(home, staged)[0].startswith(f"unreadable timestamp '{text}'")


@pytest.mark.parametrize("column_type", ["TIMESTAMP", "TIMESTAMPTZ", "DATE"])
def test_a_parquet_timestamp_holding_infinity_is_quarantined(home, settings, tmp_path, column_type):
    path = tmp_path / "inf.parquet"
    rows = duckdb.sql(
        "SELECT ts, 'e' AS endpoint, 'm' AS model, 10 AS input_tokens, 2 AS output_tokens "
        "FROM (VALUES ('2026-11-02 10:00:00'), ('infinity'), ('-infinity')) v(ts)"
    )
    columns = [duckdb.ColumnExpression("ts").cast(column_type).alias("ts")]
    columns += [duckdb.ColumnExpression(name) for name in rows.columns[1:]]
    rows.select(*columns).write_parquet(str(path))
    staged = land_and_stage(home, settings, path, "canonical")
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert staged.rows_quarantined == 2
    assert all("is not a finite time" in reason for reason in reasons(home, staged))


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e400"])
def test_a_non_finite_epoch_number_is_an_unreadable_timestamp(home, settings, tmp_path, text):
    path = tmp_path / "epoch.csv"
    path.write_text(CSV_HEADER + "1793613600,e,m,10,2\n" + f"{text},e,m,10,2\n")
    staged = land_and_stage(home, settings, path, "canonical", {"ts_unit": "s"})
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert reasons(home, staged)[0].startswith(f"unreadable timestamp '{text}'")


def test_a_mapped_infinite_timestamp_is_quarantined(home, settings, tmp_path):
    path = _jsonl(
        tmp_path / "gw.jsonl",
        [{"at": "2026-11-02T10:00:00Z", "usage": {"in": 1, "out": 2}, "m": "x"},
         {"at": "infinity", "usage": {"in": 1, "out": 2}, "m": "x"}],
    )  # fmt: skip
    mapping = {
        "columns": {
            "ts": "at",
            "endpoint": {"constant": "gw"},
            "model": "m",
            "input_tokens": "usage.in",
            "output_tokens": "usage.out",
        }
    }
    staged = land_and_stage(home, settings, path, "mapped", {"mapping": mapping})
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert "is not a finite time" in reasons(home, staged)[0]


def _unchecked(settings: Settings, **ingest: object) -> Settings:
    """``settings`` with ingest values the typed settings refuse when loaded (model_copy does not validate): the
    staging guard must hold even when a settings object gets past that check."""
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=ingest)})


def test_days_before_the_first_partition_are_quarantined_even_with_an_earlier_start_date(home, tmp_path):
    (home.config_file).write_text("ingest:\n  start_date: '2010-01-01'\n")
    with pytest.raises(ModeshiftError, match="ingest.start_date must be on or after 2020-01-01"):
        Settings.load(home)  # refused when loaded ...
    home.config_file.unlink()
    # ... and still guarded in staging
    settings = _unchecked(Settings.load(home), start_date=date(2010, 1, 1))
    assert settings.ingest.start_date == date(2010, 1, 1)
    path = _jsonl(tmp_path / "old.jsonl", [GOOD, {**GOOD, "ts": "2015-06-01T00:00:00Z"}])
    staged = land_and_stage(home, settings, path, "canonical")
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert "before the configured start date" in reasons(home, staged)[0]


def test_days_after_the_last_partition_are_quarantined_even_with_a_long_future_window(home, tmp_path):
    (home.config_file).write_text("ingest:\n  max_future_hours: 100000\n")
    with pytest.raises(ModeshiftError, match="ingest.max_future_hours must be at most 24"):
        Settings.load(home)  # refused when loaded ...
    home.config_file.unlink()
    # ... and still guarded in staging
    settings = _unchecked(Settings.load(home), max_future_hours=100000.0)
    assert settings.ingest.max_future_hours == 100000.0
    path = _jsonl(tmp_path / "future.jsonl", [GOOD, {**GOOD, "ts": "2099-01-01T00:00:00Z"}])
    staged = land_and_stage(home, settings, path, "canonical")
    assert_balanced(path, staged)
    assert staged.rows_by_day == {"2026-11-02": 1}
    assert "in the future" in reasons(home, staged)[0]


@pytest.mark.parametrize(
    "day", ["infinity", "-infinity", "2026-1-2", "2026-11-02T00", "2019-12-31", "2027-01-01"]
)
def test_check_day_keys_refuses_what_is_not_a_day_partition(tmp_path, day):
    from pipelines.ingest.landing import LandedFile

    landed = LandedFile("f" * 20, "s", "x.jsonl", "canonical", ".jsonl", 1, "", 0)
    check_day_keys(landed, ["2026-11-02"], date(2020, 1, 1), date(2026, 12, 2))
    with pytest.raises(ModeshiftError, match="is not a UTC day"):
        check_day_keys(landed, ["2026-11-02", day], date(2020, 1, 1), date(2026, 12, 2))


def _poisoned_lake(home: Home, settings: Settings, tmp_path: Path) -> tuple[str, str]:
    """A home with one good staged file (2026-11-02) and one staged the way versions before this fix did: its rows
    under the day 'infinity' (the slice directory and the manifest as that version wrote them). Returns both ids."""
    import shutil

    from pipelines.core.atomic import read_json, write_json
    from pipelines.ingest.staging import staged_dir

    good = land_and_stage(home, settings, _jsonl(tmp_path / "good.jsonl", [GOOD, GOOD]), "canonical")
    bad = land_and_stage(
        home,
        settings,
        _jsonl(tmp_path / "old-bad.jsonl", [{**GOOD, "ts": "2026-11-03T01:00:00Z"}]),
        "canonical",
    )
    directory = staged_dir(home, bad.file_id)
    shutil.move(directory / "day=2026-11-03", directory / "day=infinity")
    manifest = read_json(directory / "_manifest.json")
    manifest["rows_by_day"] = {"infinity": 1}
    write_json(directory / "_manifest.json", manifest)
    return good.file_id, bad.file_id


def test_the_runner_skips_a_day_that_is_no_partition_and_runs_the_others(home, settings, tmp_path):
    from pipelines.app.runner import materialize_pending
    from pipelines.delivery.publish import analytics_path
    from pipelines.ingest.day_merge import read_merged

    good_id, bad_id = _poisoned_lake(home, settings, tmp_path)
    lines: list[str] = []
    summary = materialize_pending(home, progress=lines.append)
    assert summary.failures == []
    assert [s for s in summary.skipped if "infinity" in s] == [
        f"day 'infinity' is not a day partition (staged from old-bad.jsonl ({bad_id}))"
    ]
    assert any("[skipped]" in line and bad_id in line for line in lines)
    assert read_merged(home, "2026-11-02").inputs[good_id].accepted == 2
    assert analytics_path(home).exists()  # published: the bad key stopped nothing
    again = materialize_pending(home, progress=lambda _: None)  # and it stays that way, run after run
    assert again.failures == [] and "daily" not in again.runs


def test_the_landing_sensor_skips_a_day_that_is_no_partition(home, settings, tmp_path):
    from dagster import DagsterInstance, build_sensor_context

    from pipelines.ops.resources import ModeshiftResource
    from pipelines.ops.sensors import landing_sensor

    _poisoned_lake(home, settings, tmp_path)
    context = build_sensor_context(
        instance=DagsterInstance.ephemeral(),
        resources={"modeshift": ModeshiftResource(home_dir=str(home.root))},
    )
    result = landing_sensor(context)
    assert [(r.job_name, r.partition_key) for r in result.run_requests] == [("daily", "2026-11-02")]


# --- 4. options validated the same way for every format ---------------------------------------------------------

FORMAT_FILES = {
    "canonical": (".jsonl", {}),
    "mapped": (".jsonl", {"mapping": {"columns": {
        "ts": "t", "model": "m", "input_tokens": "i", "output_tokens": "o", "endpoint": "e"}}}),
    "litellm": (".jsonl", {}),
    "burstgpt": (".csv", {"anchor": "2023-07-01T00:00:00Z"}),
    "azure-trace": (".csv", {"endpoint": "svc"}),
    "langfuse": (".jsonl", {}),
    "helicone": (".jsonl", {}),
    "openrouter": (".jsonl", {}),
}  # fmt: skip
BAD_NAMES = ["", "   ", "\t", "a\x00b", "a\nb", "chat\x1b[31m", "a\x85b", "a\u2028b", "e" * 201]


@pytest.mark.parametrize("fmt", sorted(FORMAT_FILES))
@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:20])
def test_a_bad_endpoint_option_is_refused_for_every_format(home, tmp_path, fmt, name):
    from pipelines.ingest.landing import land_file, landed_files

    suffix, options = FORMAT_FILES[fmt]
    path = tmp_path / f"f{suffix}"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" if suffix == ".csv" else "")
    with pytest.raises(ModeshiftError, match="endpoint name"):
        land_file(home, path, fmt, {**options, "endpoint": name})
    assert landed_files(home) == []


@pytest.mark.parametrize("name", BAD_NAMES[:6], ids=lambda n: repr(n)[:20])
def test_a_bad_model_option_is_refused(home, tmp_path, name):
    from pipelines.ingest.landing import land_file

    path = tmp_path / "a.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n")
    with pytest.raises(ModeshiftError, match="model name"):
        land_file(home, path, "azure-trace", {"endpoint": "svc", "model": name})


@pytest.mark.parametrize(
    ("fmt", "options", "message"),
    [
        ("canonical", {"ts_unit": ""}, "Unknown timestamp unit"),
        ("canonical", {"ts_unit": "ns"}, "Unknown timestamp unit"),
        ("mapped", {"ts_unit": "fortnights"}, "Unknown timestamp unit"),
        ("canonical", {"anchor": ""}, "not an ISO-8601 time"),
        ("canonical", {"anchor": "infinity"}, "not an ISO-8601 time"),
        ("burstgpt", {"anchor": "0001-01-01T00:00:00Z"}, "outside the years"),
        ("burstgpt", {"anchor": "2023-07-01T00:00:00Z" + " " * 100}, "not an ISO-8601 time"),
        ("canonical", {"model": "m"}, "does not take --model"),
        ("mapped", {"model": "m"}, "does not take --model"),
        ("canonical", {"colour": "blue"}, "Unknown option"),
        ("litellm", {"anchor": ""}, "not an ISO-8601 time"),
    ],
)
def test_bad_model_anchor_and_unit_options_are_one_clear_error(home, tmp_path, fmt, options, message):
    from pipelines.ingest.landing import land_file

    suffix, base = FORMAT_FILES[fmt]
    path = tmp_path / f"f{suffix}"
    path.write_text("Timestamp,Model\n" if suffix == ".csv" else "")
    with pytest.raises(ModeshiftError, match=message):
        land_file(home, path, fmt, {**base, **options})


def test_the_cli_refuses_an_empty_endpoint_for_canonical_files(home, tmp_path, capsys):
    from pipelines.app.cli import main

    path = _jsonl(tmp_path / "a.jsonl", [GOOD])
    assert main(["ingest", "--format", "canonical", "--endpoint", "", str(path)]) == 2
    assert "The endpoint name '' is not usable" in capsys.readouterr().err
    assert list(home.landing.glob("*.manifest.json")) == []


@pytest.mark.parametrize("constant", ["", " ", "a\x00b", "x" * 300, None, ["a"], {"b": 1}, True])
def test_a_bad_mapping_constant_for_endpoint_is_refused(home, tmp_path, constant):
    from pipelines.ingest.landing import land_file

    _, base = FORMAT_FILES["mapped"]
    columns = {**base["mapping"]["columns"], "endpoint": {"constant": constant}}
    path = _jsonl(tmp_path / "a.jsonl", [GOOD])
    with pytest.raises(ModeshiftError, match="constant of 'endpoint'|endpoint name"):
        land_file(home, path, "mapped", {"mapping": {"columns": columns}})


# --- 5. YAML alias bombs and oversized mappings -------------------------------------------------------------------

VALID_MAPPING = """columns:
  ts: created
  endpoint: {constant: chat-prod}
  model: body.model
  input_tokens: usage.prompt_tokens
  output_tokens: usage.completion_tokens
timestamp:
  unit: ms
"""
BILLION_LAUGHS = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join(f"*{chr(97 + i)}" for _ in range(9)) + "]\n"
    for i in range(8)
)
YAML_CASES = {
    "billion laughs": (BILLION_LAUGHS + "columns: *i\n", "anchor or alias"),
    "one alias": ("columns:\n  ts: &t created\n  model: *t\n", "anchor or alias"),
    "merge key": ("base: &b {ts: created}\ncolumns:\n  <<: *b\n", "anchor or alias"),
    "anchor only": ("columns: &c\n  ts: created\n", "anchor or alias"),
    "deep nesting": ("columns: " + "[" * 200 + "]" * 200 + "\n", "nests deeper"),
    "deep mapping nesting": (
        "columns:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(30)),
        "nests deeper",
    ),
    "oversized": (VALID_MAPPING + "# padding\n" * 8000, "bytes; a mapping is at most"),
    "not yaml": ("columns: [unclosed\n", "not valid YAML"),
    "python tag": ("columns: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    "a list": ("- ts\n- model\n", "must hold a mapping"),
    "not utf-8": (b"columns:\n  ts: \xff\xfe\n", "not valid YAML"),
}


@pytest.mark.parametrize("name", sorted(YAML_CASES))
def test_a_hostile_mapping_file_is_one_clear_error_and_fast(tmp_path, name):
    import time

    from pipelines.ingest.formats.mapped import load_mapping_file

    text, message = YAML_CASES[name]
    path = tmp_path / "m.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    started = time.monotonic()
    with pytest.raises(ModeshiftError, match=message):
        load_mapping_file(path)
    assert time.monotonic() - started < 2


def test_the_billion_laughs_file_is_small_and_would_expand_enormously():
    import yaml

    assert len(BILLION_LAUGHS) < 600
    loaded = yaml.safe_load(
        BILLION_LAUGHS.replace("i: &i", "i:")
    )  # all but the last level: 9^8 = 43 M strings
    assert len(loaded["h"]) == 9 and len(loaded["h"][0]) == 9


def test_a_plain_mapping_file_still_loads_and_lands(home, tmp_path, capsys):
    from pipelines.app.cli import main
    from pipelines.ingest.formats.mapped import load_mapping_file

    path = tmp_path / "m.yaml"
    path.write_text(VALID_MAPPING)
    assert load_mapping_file(path)["columns"]["model"] == "body.model"
    logs = _jsonl(tmp_path / "gw.jsonl", [{"created": 1793613600000, "body": {"model": "x"}, "usage": {}}])
    assert main(["ingest", "--format", "mapped", "--mapping", str(path), str(logs)]) == 0


def test_the_cli_refuses_an_alias_bomb_without_landing(home, tmp_path, capsys):
    from pipelines.app.cli import main

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS + "columns: *i\n")
    logs = _jsonl(tmp_path / "gw.jsonl", [GOOD])
    assert main(["ingest", "--format", "mapped", "--mapping", str(bomb), str(logs)]) == 2
    assert "anchor or alias" in capsys.readouterr().err
    assert list(home.landing.glob("*.manifest.json")) == []


# --- 3. a mapping staging cannot run is refused at ingest ----------------------------------------------------------

BAD_SOURCES = [
    "usage..prompt_tokens",
    "../../x",
    ".usage",
    "usage.",
    "a.\u0000.b",
    'us"age',
    "usage.\\x",
    "x" * 600,
]


@pytest.mark.parametrize("source", BAD_SOURCES, ids=lambda s: repr(s)[:24])
def test_a_mapping_field_staging_cannot_read_is_refused_at_ingest(home, tmp_path, source):
    from pipelines.ingest.landing import land_file, landed_files

    columns = {**FORMAT_FILES["mapped"][1]["mapping"]["columns"], "input_tokens": source}
    path = _jsonl(tmp_path / "gw.jsonl", [GOOD])
    with pytest.raises(ModeshiftError, match="cannot be read"):
        land_file(home, path, "mapped", {"mapping": {"columns": columns}})
    assert landed_files(home) == []


@pytest.mark.parametrize("source", ["usage..prompt_tokens", "../../x"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_the_dry_run_of_the_staging_query_catches_what_duckdb_cannot_bind(settings, tmp_path, source, suffix):
    """The dry run alone (without the static checks) refuses the mapping: it binds the very query staging runs."""
    from pipelines.ingest.normalize import check_stageable

    columns = {**FORMAT_FILES["mapped"][1]["mapping"]["columns"], "input_tokens": source}
    path = tmp_path / f"gw{suffix}"
    path.write_text(CSV_HEADER if suffix == ".csv" else json.dumps(GOOD) + "\n")
    check_stageable(settings, path, "mapped", suffix, FORMAT_FILES["mapped"][1])  # the good mapping binds
    if suffix == ".csv":  # CSV names are taken literally: a missing column is NULL, no error to catch
        check_stageable(settings, path, "mapped", suffix, {"mapping": {"columns": columns}})
        return
    with pytest.raises(ModeshiftError, match="DuckDB refuses the query"):
        check_stageable(settings, path, "mapped", suffix, {"mapping": {"columns": columns}})


# --- 3. a file that cannot be staged is set aside and blocks nothing ----------------------------------------------


def _land_unstageable(home: Home, tmp_path: Path) -> tuple[str, str]:
    """Two landed files staging refuses: a '.parquet' that is not Parquet (ingest cannot tell), and a mapped file
    whose manifest, as an older version wrote it, maps a field with an empty path segment. Returns their ids."""
    from pipelines.core.atomic import read_json, write_json
    from pipelines.ingest.landing import land_file, manifest_path

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet PAR1")
    parquet_id = land_file(home, broken, "canonical", {})[0].file_id
    mapping = {
        "columns": {"ts": "t", "endpoint": "e", "model": "m", "input_tokens": "u.i", "output_tokens": "o"}
    }
    logs = _jsonl(
        tmp_path / "gw.jsonl", [{"t": "2026-11-02T11:00:00Z", "e": "x", "m": "m", "u": {"i": 1}, "o": 1}]
    )
    mapped_id = land_file(home, logs, "mapped", {"mapping": mapping})[0].file_id
    manifest = read_json(manifest_path(home, mapped_id))
    manifest["options"]["mapping"]["columns"]["input_tokens"] = "u..i"
    write_json(manifest_path(home, mapped_id), manifest)
    return parquet_id, mapped_id


def test_unstageable_files_are_set_aside_and_the_good_data_is_published(home, tmp_path, capsys):
    from pipelines.app.cli import main
    from pipelines.delivery.publish import analytics_path
    from pipelines.ingest.day_merge import read_merged
    from pipelines.ingest.failures import failed_files
    from pipelines.ingest.landing import land_file

    good = _jsonl(tmp_path / "good.jsonl", [GOOD, {**GOOD, "ts": "2026-11-02T12:00:00Z"}])
    good_id = land_file(home, good, "canonical", {})[0].file_id
    parquet_id, mapped_id = _land_unstageable(home, tmp_path)

    assert main(["materialize", "--quiet"]) == 2  # said loudly, once
    err = capsys.readouterr().err
    assert "2 file(s) could not be staged" in err and "broken.parquet" in err and "gw.jsonl" in err
    assert "modeshift retry FILE_ID" in err and "modeshift forget FILE_ID" in err
    assert read_merged(home, "2026-11-02").inputs[good_id].accepted == 2
    assert analytics_path(home).exists()
    failed = failed_files(home)
    assert set(failed) == {parquet_id, mapped_id}
    assert "not a readable Parquet file" in failed[parquet_id].error
    assert "empty segment" in failed[mapped_id].error

    with duckdb.connect(str(analytics_path(home)), read_only=True) as con:
        notes = dict(con.sql("SELECT source_file, note FROM ingest_log").fetchall())
        rows = con.sql("SELECT rows_in, rows_accepted, rows_quarantined FROM ingest_log WHERE source_file = $id",
                       params={"id": good_id}).fetchall()  # fmt: skip
    assert notes[parquet_id].startswith("failed: ") and f"modeshift forget {parquet_id}" in notes[parquet_id]
    assert notes[mapped_id].startswith("failed: ") and notes[good_id] is None
    assert rows == [(physical_records(good), 2, 0)]

    assert main(["materialize", "--quiet"]) == 0  # set aside: not retried, not blocking, not shouted again
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "3 file(s), 0 not staged yet, 2 failed" in out
    assert f"broken.parquet ({parquet_id})" in out and "not a readable Parquet file" in out


def test_a_set_aside_file_is_not_requested_by_the_sensor_until_retried(home, settings, tmp_path):
    from dagster import DagsterInstance, build_sensor_context

    from pipelines.ingest.failures import read_failure, retry_file, stage_or_set_aside
    from pipelines.ingest.landing import get_landed_file, landed_files
    from pipelines.ops.resources import ModeshiftResource
    from pipelines.ops.sensors import landing_sensor

    parquet_id, mapped_id = _land_unstageable(home, tmp_path)
    context = build_sensor_context(
        instance=DagsterInstance.ephemeral(),
        resources={"modeshift": ModeshiftResource(home_dir=str(home.root))},
    )
    first = landing_sensor(context)
    at = {f.file_id: f.landed_at_ns for f in landed_files(home)}
    assert sorted(r.run_key for r in first.run_requests) == sorted(
        [f"stage:{parquet_id}@{at[parquet_id]}", f"stage:{mapped_id}@{at[mapped_id]}"]
    )
    for file_id in (parquet_id, mapped_id):
        with pytest.raises(ModeshiftError):
            stage_or_set_aside(home, settings, get_landed_file(home, file_id))
        assert read_failure(home, file_id).failed
    assert landing_sensor(context).run_requests == []
    retry_file(home, parquet_id)
    assert [r.run_key for r in landing_sensor(context).run_requests] == [
        f"stage:{parquet_id}@{at[parquet_id]}:retry1.0"
    ]


def test_forget_drops_a_failed_file_so_it_can_be_ingested_again(home, settings, tmp_path, capsys):
    from pipelines.app.cli import main
    from pipelines.ingest.failures import stage_or_set_aside
    from pipelines.ingest.landing import get_landed_file, land_file, landed_files

    parquet_id, mapped_id = _land_unstageable(home, tmp_path)
    with pytest.raises(ModeshiftError):
        stage_or_set_aside(home, settings, get_landed_file(home, mapped_id))
    assert main(["forget", mapped_id]) == 0
    assert "gw.jsonl" in capsys.readouterr().out
    assert {f.file_id for f in landed_files(home)} == {parquet_id}
    assert list(home.landing.glob(f"{mapped_id}*")) == []
    mapping = {
        "columns": {"ts": "t", "endpoint": "e", "model": "m", "input_tokens": "u.i", "output_tokens": "o"}
    }
    landed, new = land_file(home, tmp_path / "gw.jsonl", "mapped", {"mapping": mapping})
    assert new and stage_or_set_aside(home, settings, landed).rows_staged == 1
    assert main(["retry", "0123456789abcdef0123"]) == 2  # no such failed file: one clear sentence
    assert "No failed file has the id" in capsys.readouterr().err


def test_forget_takes_a_file_whose_rows_are_in_the_lake_back_out(home, settings, tmp_path):
    from pipelines.ingest.day_merge import merge_day, pending_days
    from pipelines.lake.forget import forget_landed

    staged = land_and_stage(home, settings, _jsonl(tmp_path / "a.jsonl", [GOOD]), "canonical")
    merge_day(home, "2026-11-02")
    forgotten = forget_landed(home, staged.file_id)
    assert forgotten.emptied_days == ["2026-11-02"] and forgotten.reopened_days == []
    assert not home.request_day_dir("2026-11-02").exists() and not (home.staged / staged.file_id).exists()
    assert pending_days(home) == []  # no other file has rows on the day: it stays missing


def test_machine_errors_are_retried_before_a_file_is_set_aside(home):
    from pipelines.ingest.failures import MAX_TRANSIENT_ATTEMPTS, describe, record_failure

    disk_full = OSError(28, "No space left on device")
    for _attempt in range(1, MAX_TRANSIENT_ATTEMPTS):
        assert not record_failure(home, "a" * 20, "a.jsonl", disk_full).failed
    assert record_failure(home, "a" * 20, "a.jsonl", disk_full).failed
    assert not record_failure(home, "c" * 20, "c.jsonl", duckdb.IOException("No space left on device")).failed
    assert record_failure(home, "b" * 20, "b.jsonl", ValueError("bad")).failed  # the file's own: at once
    secret = duckdb.ConversionException("Could not convert string 'sk-SECRET-prompt' to INT64")
    assert "SECRET" not in describe(secret) and describe(secret).startswith("ConversionException: ")


# --- 2. an unterminated CSV quote must not swallow the rest of the file ------------------------------------------

CSV_PROMPT_HEADER = "ts,endpoint,model,input_tokens,output_tokens,prompt\n"


def _good_csv_lines(count: int, start: int = 0) -> str:
    return "".join(
        f"2026-11-02T10:{(start + i) % 60:02d}:00Z,e,m,{start + i},2,hello\n" for i in range(count)
    )


def _csv_case(tmp_path: Path, text: str, gz: bool = False) -> Path:
    import gzip

    path = tmp_path / ("case.csv.gz" if gz else "case.csv")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def _csv_records_by_lines(text: str, inner_breaks: int = 0) -> int:
    """Records of a CSV text by its lines: non-empty lines after the header, less the line breaks the test put
    inside quoted fields on purpose."""
    return sum(1 for line in text.splitlines()[1:] if line) - inner_breaks


UNTERMINATED = {  # name -> (text, expected accepted rows, a reason expected among the quarantined)
    "1,002 lines, an open quote on the 2nd": (
        CSV_PROMPT_HEADER + _good_csv_lines(1) + '2026-11-02T10:00:00Z,e,m,1,2,"unterminated\n'
        + _good_csv_lines(1000), 1001, "runs over more than 100 lines"),
    "an open quote 30 lines before the end": (
        CSV_PROMPT_HEADER + _good_csv_lines(200) + '2026-11-02T10:00:00Z,e,m,1,2,"open\n' + _good_csv_lines(30),
        230, "unterminated quote"),
    "an open quote on the last line": (
        CSV_PROMPT_HEADER + _good_csv_lines(20) + '2026-11-02T10:00:00Z,e,m,1,2,"open', 20, "unterminated quote"),
    "two stray quotes 500 lines apart": (
        CSV_PROMPT_HEADER + _good_csv_lines(5) + '2026-11-02T10:00:00Z,e,m,1,2,"stray\n' + _good_csv_lines(500)
        + '2026-11-02T10:00:00Z,e,m,1,2,closes"\n' + _good_csv_lines(5), None, "runs over more than 100 lines"),
    "an open quote in the endpoint column": (
        CSV_PROMPT_HEADER + '2026-11-02T10:00:00Z,"e,m,1,2,x\n' + _good_csv_lines(300), 300, "runs over"),
    "crlf lines and an open quote": (
        (CSV_PROMPT_HEADER + _good_csv_lines(3) + '2026-11-02T10:00:00Z,e,m,1,2,"open\n'
         + _good_csv_lines(400)).replace("\n", "\r\n"), 403, "runs over"),
    "several open quotes": (
        CSV_PROMPT_HEADER + ('2026-11-02T10:00:00Z,e,m,1,2,"open\n' + _good_csv_lines(150)) * 4, 600, "runs over"),
}  # fmt: skip


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("name", sorted(UNTERMINATED))
def test_an_unterminated_quote_refuses_its_line_and_keeps_the_rest(home, settings, tmp_path, name, gz):
    text, accepted, reason = UNTERMINATED[name]
    staged = land_and_stage(home, settings, _csv_case(tmp_path, text, gz), "canonical")
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined == _csv_records_by_lines(text)
    if accepted is not None:
        assert staged.rows_staged == accepted
    assert any(reason in r for r in reasons(home, staged)), reasons(home, staged)
    assert staged.note is not None and staged.note.startswith("read record by record")
    longest = max((len(row["endpoint"] or "") for row in staged_rows(home, staged.file_id)), default=0)
    assert longest < 10  # no accepted row carries swallowed lines


def test_an_unterminated_quote_in_a_litellm_csv_export(home, settings, tmp_path):
    header = "request_id,startTime,endTime,model,prompt_tokens,completion_tokens,status,messages\n"
    good = "".join(
        f'r{i},2026-11-02T10:00:00Z,2026-11-02T10:00:01Z,gpt-4o,10,2,success,"[{{""role"": ""user""}}]"\n'
        for i in range(400)
    )
    text = header + good[: len(good) // 2] + 'rX,2026-11-02T10:00:00Z,,gpt-4o,1,1,success,"[{oops\n' + good
    staged = land_and_stage(home, settings, _csv_case(tmp_path, text), "litellm")
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined == _csv_records_by_lines(text)
    assert staged.rows_quarantined == 1 and staged.rows_staged == 600


@pytest.mark.parametrize("breaks", [1, 5, 100])
def test_a_quoted_field_over_a_few_lines_is_one_record_and_stays_on_the_fast_path(
    home, settings, tmp_path, breaks
):
    multiline = '"' + "\n".join(["a line, of a prompt"] * (breaks + 1)) + '"'
    text = (
        CSV_PROMPT_HEADER
        + _good_csv_lines(10)
        + f"2026-11-02T11:00:00Z,e,m,1,2,{multiline}\n"
        + _good_csv_lines(10)
    )
    staged = land_and_stage(home, settings, _csv_case(tmp_path, text), "canonical")
    assert staged.rows_in == staged.rows_staged == _csv_records_by_lines(text, inner_breaks=breaks) == 21
    assert staged.rows_quarantined == 0 and staged.note is None


def test_the_field_limits_come_from_the_settings(home, tmp_path):
    (home.config_file).write_text("ingest:\n  csv_max_field_lines: 3\n  csv_max_multiline_field_bytes: 100\n")
    settings = Settings.load(home)
    four_breaks = '"' + "\n".join(["x"] * 5) + '"'
    big = '"' + "y" * 200 + "\ny" + '"'
    text = (CSV_PROMPT_HEADER + _good_csv_lines(5) + f"2026-11-02T11:00:00Z,e,m,1,2,{four_breaks}\n"
            + _good_csv_lines(5) + f"2026-11-02T11:00:00Z,e,m,1,2,{big}\n" + _good_csv_lines(5))  # fmt: skip
    staged = land_and_stage(home, settings, _csv_case(tmp_path, text), "canonical")
    # each refused record gives back the lines it had swallowed: they are read again (and refused one by one)
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined == _csv_records_by_lines(text)
    assert staged.rows_staged == 15
    assert "runs over more than 3 lines or 100 bytes" in reasons(home, staged)[0]


def test_a_long_single_line_field_is_not_refused(home, settings, tmp_path):
    text = CSV_PROMPT_HEADER + _good_csv_lines(3) + f'2026-11-02T11:00:00Z,e,m,1,2,"{"z" * 3_000_000}"\n'
    staged = land_and_stage(home, settings, _csv_case(tmp_path, text), "canonical")
    assert staged.rows_in == staged.rows_staged == 4 == _csv_records_by_lines(text)


def test_blank_lines_in_a_csv_are_no_records(home, settings, tmp_path):
    text = CSV_PROMPT_HEADER + _good_csv_lines(3) + "\n\n" + _good_csv_lines(3) + "\r\n"
    staged = land_and_stage(home, settings, _csv_case(tmp_path, text), "canonical")
    assert staged.rows_in == staged.rows_staged == 6 == _csv_records_by_lines(text)


def test_the_physical_count_catches_a_reader_that_loses_lines(tmp_path):
    from pipelines.ingest.formats.physical import fast_read_mismatch
    from pipelines.ingest.formats.salvage import CsvLimits

    jsonl = _jsonl(tmp_path / "a.jsonl", [GOOD] * 5)
    assert fast_read_mismatch(jsonl, ".jsonl", 5, CsvLimits()) is None
    assert "5 non-blank lines but 4 records" in fast_read_mismatch(jsonl, ".jsonl", 4, CsvLimits())
    csv_path = _csv_case(tmp_path, CSV_PROMPT_HEADER + _good_csv_lines(5))
    assert fast_read_mismatch(csv_path, ".csv", 5, CsvLimits()) is None
    assert "5 lines after the header but 3 records" in fast_read_mismatch(csv_path, ".csv", 3, CsvLimits())
