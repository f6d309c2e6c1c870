"""Typed settings: defaults.yaml overlaid with config.yaml, validated once; every problem is one line naming the
file and the dotted key (with the nearest valid key for a typo), reported before any Dagster run exists."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from pipelines.app.cli import main
from pipelines.app.runner import _first_error
from pipelines.core.calendar import (
    DAILY_PARTITIONS_END_OFFSET,
    PARTITIONED_FUTURE_HOURS,
    PARTITIONS_START_DATE,
    week_start_of,
)
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings, default_settings_mapping, shipped_rate_card_path
from pipelines.delivery.slack_delivery import RetryPolicy
from pipelines.delivery.slack_report import ReportSettings
from pipelines.domain.policy import PolicySettings
from pipelines.domain.profile_metrics import ProfileThresholds
from pipelines.ingest.landing import land_file
from pipelines.ingest.staging import staged_dir
from pipelines.lake.lineage import fingerprint
from pipelines.ops.partitions import daily_partitions, weekly_partitions
from pipelines.ops.report_sensors import SensorLimits
from pipelines.ops.resources import ModeshiftResource
from pipelines.weekly.plans import policy_settings
from pipelines.weekly.profiles import profile_thresholds


def _problems(home: Home, text: str) -> list[str]:
    """The lines of the error that loading ``text`` as config.yaml raises."""
    home.config_file.write_text(text, encoding="utf-8")
    with pytest.raises(ModeshiftError) as raised:
        Settings.load(home)
    return str(raised.value).splitlines()


def _leaf_keys(mapping: dict, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in mapping.items():
        if isinstance(value, dict) and key != "deployments":
            keys |= _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


# -------------------------------------------------------------------------------------------- valid settings


def test_the_shipped_defaults_alone_load_with_their_types(home: Home) -> None:
    settings = Settings.load(home)
    # every key of defaults.yaml is a typed setting, and every setting has a shipped default
    assert _leaf_keys(default_settings_mapping()) == _leaf_keys(settings.model_dump())
    assert settings.rate_card_path == shipped_rate_card_path()
    assert settings.ingest.start_date == date(2020, 1, 1) and settings.ingest.max_future_hours == 24.0
    assert type(settings.slack.top_n) is int and type(settings.policy.min_savings_usd_per_week) is float
    assert settings.slack.exclude_endpoints == () and settings.deployments == {}
    # the domain's own defaults are the shipped ones (the domain stays callable without the loader)
    assert policy_settings(settings) == PolicySettings()
    assert profile_thresholds(settings) == ProfileThresholds()
    assert ReportSettings.from_settings(settings) == ReportSettings()
    assert RetryPolicy.from_settings(settings) == RetryPolicy()
    assert SensorLimits.from_settings(settings) == SensorLimits()


def test_a_valid_override_applies_and_the_rest_keeps_its_default(home: Home) -> None:
    home.config_file.write_text(
        "policy:\n  persistence_weeks: 3\n"
        "profiles:\n  burst:\n    bursty_min_peak_to_mean: 20\n"
        "slack:\n  top_n: 7.0\n  exclude_endpoints: ['test-*']\n  backoff_seconds: 0\n"
        "deployments:\n  chat-prod: 2\n  123: 1\n"
        "ingest:\n  start_date: 2026-01-05\n"  # an unquoted YAML date
        "analytics:\n",  # an empty section keeps its defaults
        encoding="utf-8",
    )
    settings = Settings.load(home)
    assert policy_settings(settings) == PolicySettings(persistence_weeks=3)
    assert profile_thresholds(settings) == dataclasses.replace(
        ProfileThresholds(), bursty_min_peak_to_mean=20.0
    )
    assert settings.slack.top_n == 7 and type(settings.slack.top_n) is int  # 7.0 is unambiguously 7
    assert ReportSettings.from_settings(settings) == ReportSettings(top_n=7, exclude_endpoints=("test-*",))
    assert RetryPolicy.from_settings(settings).backoff_seconds == 0.0
    assert {name: d.replicas for name, d in settings.deployments.items()} == {"chat-prod": 2, "123": 1}
    assert settings.deployment_of("chat-prod").family == "fixed" and settings.deployment_of("other") is None
    assert settings.ingest.start_date == date(2026, 1, 5)
    assert settings.analytics.keep_snapshots == 2 and settings.slack.min_saving_usd == 50.0
    home.config_file.write_text("slack:\n  exclude_endpoints:\n", encoding="utf-8")  # an empty list
    assert Settings.load(home).slack.exclude_endpoints == ()


def test_the_settings_fingerprint_is_deterministic_and_follows_the_typed_values(home: Home) -> None:
    def week_part(text: str) -> str:
        home.config_file.write_text(text, encoding="utf-8")
        settings = Settings.load(home)
        return fingerprint(
            settings.model_dump(mode="json", include={"profiles", "policy", "deployments", "slos"})
        )

    default = week_part("")
    assert week_part("policy: {min_savings_usd_per_week: 50.0}\n") == default  # the same typed value
    assert week_part("slack: {top_n: 9}\n") == default  # not an input of the weekly outputs
    assert week_part("policy: {min_savings_usd_per_week: 60}\n") != default
    assert week_part("deployments: {chat: 2}\n") != default
    assert week_part("slos: {voice: {ttft_p95_ms: 600}}\n") != default  # an SLO changes the recommendations


# ----------------------------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "policy:\n  min_saving_usd_per_week: 10\n",
            "policy.min_saving_usd_per_week is not a setting; did you mean policy.min_savings_usd_per_week?",
        ),
        ("polcy:\n  persistence_weeks: 3\n", "polcy is not a setting; did you mean policy?"),
        ("rate_crad: x.csv\n", "rate_crad is not a setting; did you mean rate_card?"),
        (
            "profiles:\n  burst:\n    bursty_min_peak_to_means: 20\n",
            "profiles.burst.bursty_min_peak_to_means is not a setting; did you mean "
            "profiles.burst.bursty_min_peak_to_mean?",
        ),
        (
            "profiles:\n  stabilty: {}\n",
            "profiles.stabilty is not a setting; did you mean profiles.stability?",
        ),
        (
            "policy:\n  top_n: 3\n",
            "policy.top_n is not a setting; did you mean slack.top_n?",
        ),  # wrong section
        ("zebra: 1\n", "zebra is not a setting."),
    ],
)
def test_an_unknown_key_is_named_with_the_nearest_valid_key(home: Home, text: str, expected: str) -> None:
    assert _problems(home, text) == [f"{home.config_file}: {expected}"]


# ------------------------------------------------------------------------------------ wrong types and ranges


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('slack:\n  top_n: "five"\n', 'slack.top_n must be a whole number, got "five".'),
        ('slack:\n  top_n: "5"\n', 'slack.top_n must be a whole number, got "5".'),  # text is never a number
        ("slack:\n  top_n: 5.5\n", "slack.top_n must be a whole number, got 5.5."),
        (
            "policy:\n  persistence_weeks: true\n",
            "policy.persistence_weeks must be a whole number, got true.",
        ),
        ('policy:\n  min_savings_pct: "10%"\n', 'policy.min_savings_pct must be a number, got "10%".'),
        ("slack:\n  exclude_endpoints: test-*\n", 'slack.exclude_endpoints must be a list, got "test-*".'),
        ("slack:\n  exclude_endpoints: [a, 7]\n", "slack.exclude_endpoints[1] must be text, got 7."),
        ("policy: 5\n", "policy must be a mapping of settings, got 5."),
        (
            "deployments:\n  chat: two\n",
            'deployments.chat must be a whole number (replicas) or a mapping (min_replicas/max_replicas or replicas/window), got "two".',
        ),
        (
            "ingest:\n  start_date: yesterday\n",
            'ingest.start_date must be a date written YYYY-MM-DD, got "yesterday".',
        ),
        ("rate_card: 3\n", "rate_card must be text, got 3."),
    ],
)
def test_a_wrong_type_is_refused_not_coerced(home: Home, text: str, expected: str) -> None:
    assert _problems(home, text) == [f"{home.config_file}: {expected}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "policy:\n  min_savings_pct: 10\n",
            "policy.min_savings_pct must be a fraction in [0, 1], got 10; write 10% as 0.10.",
        ),
        (
            "policy:\n  min_savings_usd_per_week: -5\n",
            "policy.min_savings_usd_per_week must be >= 0, got -5.",
        ),
        ("policy:\n  persistence_weeks: 0\n", "policy.persistence_weeks must be >= 1, got 0."),
        ("slack:\n  top_n: 0\n", "slack.top_n must be >= 1, got 0."),
        ("slack:\n  http_timeout_seconds: 0\n", "slack.http_timeout_seconds must be > 0, got 0."),
        ("analytics:\n  keep_snapshots: 1\n", "analytics.keep_snapshots must be >= 2, got 1."),
        ("pricing:\n  max_billed_deviation: -0.1\n", "pricing.max_billed_deviation must be >= 0, got -0.1."),
        (
            "pricing:\n  min_billed_coverage: 95\n",
            "pricing.min_billed_coverage must be a fraction in [0, 1], got 95; write 10% as 0.10.",
        ),
        ("deployments:\n  chat: 0\n", "deployments.chat must be >= 1, got 0."),
        (
            "profiles:\n  latency:\n    offline_min_share: 1.5\n",
            "profiles.latency.offline_min_share must be a fraction in [0, 1], got 1.5; write 10% as 0.10.",
        ),
        (
            "profiles:\n  burst:\n    bursty_min_burstiness_an: 2\n",
            "profiles.burst.bursty_min_burstiness_an must be <= 1, got 2.",
        ),
    ],
)
def test_an_out_of_range_value_is_refused(home: Home, text: str, expected: str) -> None:
    assert _problems(home, text) == [f"{home.config_file}: {expected}"]


def test_several_problems_are_listed_one_per_line(home: Home) -> None:
    lines = _problems(
        home,
        "policy:\n  min_saving_usd_per_week: 10\n  min_savings_pct: 10\n"
        'slack:\n  top_n: "five"\n  max_attempts: 0\n'
        "ingest:\n  start_date: 2019-01-01\n",
    )
    where = f"{home.config_file}: "
    assert lines == [
        where
        + 'ingest.start_date must be on or after 2020-01-01, got "2019-01-01"; that is the first day of the '
        "Dagster partitions, and rows of earlier days would have no partition.",
        where + "policy.min_savings_pct must be a fraction in [0, 1], got 10; write 10% as 0.10.",
        where
        + "policy.min_saving_usd_per_week is not a setting; did you mean policy.min_savings_usd_per_week?",
        where + 'slack.top_n must be a whole number, got "five".',
        where + "slack.max_attempts must be >= 1, got 0.",
    ]


def test_not_yaml_and_not_a_mapping_are_one_sentence(home: Home) -> None:
    assert _problems(home, "policy: {min_savings_usd_per_week: 10\n")[0].startswith(
        f"{home.config_file} is not valid YAML (line "
    )
    assert _problems(home, "- policy\n") == [
        f"{home.config_file} must hold a mapping of settings, not a list."
    ]


def test_a_missing_rate_card_is_one_sentence(home: Home, tmp_path: Path) -> None:
    assert _problems(home, f"rate_card: {tmp_path / 'nope.csv'}\n") == [
        f"The rate card {tmp_path / 'nope.csv'} does not exist. Point 'rate_card' in config.yaml to a CSV file, "
        "or remove the key to use the shipped one."
    ]


# -------------------------------------------------------------------------- settings the partitions must follow


def test_the_partitions_and_the_settings_share_one_range() -> None:
    assert daily_partitions.start.date() == PARTITIONS_START_DATE
    assert daily_partitions.end_offset == DAILY_PARTITIONS_END_OFFSET
    assert weekly_partitions.start.date() <= PARTITIONS_START_DATE
    assert date.fromisoformat(default_settings_mapping()["ingest"]["start_date"]) >= PARTITIONS_START_DATE
    # the worst case: a file landed at the last instant of a day. A row stamped max_future_hours later must still
    # fall on a partitioned day, and one hour more would not (the bound is exact, not just safe).
    landed = datetime.combine(date(2026, 11, 1), time(23, 59, 59), tzinfo=UTC)
    keys = daily_partitions.get_partition_keys(current_time=landed)
    last_day = keys[-1]
    assert (landed + timedelta(hours=PARTITIONED_FUTURE_HOURS)).date().isoformat() == last_day
    assert (landed + timedelta(hours=PARTITIONED_FUTURE_HOURS + 1)).date().isoformat() > last_day
    assert keys[0] == PARTITIONS_START_DATE.isoformat()


@pytest.mark.parametrize("weekday", range(7))
def test_the_week_of_every_partitioned_day_is_partitioned(weekday: int) -> None:
    # on a Sunday evening tomorrow's day is partitioned, and so must be its week (next week), or the weekly run
    # of a row landed then fails until Monday
    now = datetime.combine(date(2026, 11, 30) + timedelta(days=weekday), time(23, 0), tzinfo=UTC)
    weeks = set(weekly_partitions.get_partition_keys(current_time=now))
    for day in daily_partitions.get_partition_keys(current_time=now)[-DAILY_PARTITIONS_END_OFFSET:]:
        assert week_start_of(date.fromisoformat(day)).isoformat() in weeks, (now, day)


def test_settings_the_partitions_do_not_follow_are_refused(home: Home) -> None:
    before = (PARTITIONS_START_DATE - timedelta(days=1)).isoformat()
    assert _problems(home, f"ingest:\n  start_date: '{before}'\n") == [
        f'{home.config_file}: ingest.start_date must be on or after {PARTITIONS_START_DATE}, got "{before}"; '
        "that is the first day of the Dagster partitions, and rows of earlier days would have no partition."
    ]
    assert _problems(home, f"ingest:\n  max_future_hours: {PARTITIONED_FUTURE_HOURS + 0.5}\n") == [
        f"{home.config_file}: ingest.max_future_hours must be at most {PARTITIONED_FUTURE_HOURS} (hours), got "
        f"{PARTITIONED_FUTURE_HOURS + 0.5}; the daily Dagster partitions end with tomorrow (UTC), and rows "
        "stamped further ahead would land on a day without a partition."
    ]
    home.config_file.write_text(
        f"ingest:\n  start_date: '{PARTITIONS_START_DATE}'\n  max_future_hours: {PARTITIONED_FUTURE_HOURS}\n"
    )
    assert Settings.load(home).ingest.max_future_hours == PARTITIONED_FUTURE_HOURS  # the edges are allowed


# ------------------------------------------------------------------------------ errors before any run starts


def _land_one_row(home: Home, tmp_path: Path) -> str:
    data = tmp_path / "a.jsonl"
    row = {"ts": "2026-11-02T00:00:00Z", "endpoint": "e", "model": "m", "input_tokens": 1, "output_tokens": 2}
    data.write_text(json.dumps(row) + "\n")
    landed, _ = land_file(home, data, "canonical", {})
    return landed.file_id


@pytest.mark.parametrize(
    "command", [["materialize", "--quiet"], ["report"], ["status"], ["demo", "--scale", "0.01"]]
)
def test_the_cli_prints_one_line_and_exits_before_any_run(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _land_one_row(home, tmp_path)
    home.config_file.write_text("ingest:\n  gx_sample_rows: many\n")
    code = main(command)
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f'modeshift: error: {home.config_file}: ingest.gx_sample_rows must be a whole number, got "many".\n'
    )
    instance = (
        DagsterInstance.from_config(str(home.dagster_home))
        if (home.dagster_home / "dagster.yaml").exists()
        else None
    )
    assert instance is None or instance.get_runs_count() == 0  # no Dagster run was created
    assert not any(home.staged.iterdir()) and not (home.root / "demo-source").exists()


def test_a_wrong_type_fails_the_resource_not_a_step_with_a_raw_value_error(
    home: Home, tmp_path: Path
) -> None:
    """Issue #12 item 18: ``gx_sample_rows: many`` used to reach ``int('many')`` inside the requests step."""
    from assets.ingest import staged_file

    file_id = _land_one_row(home, tmp_path)
    home.config_file.write_text("ingest:\n  gx_sample_rows: many\n")
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("landed_files", [file_id])
    result = materialize(
        [staged_file],
        partition_key=file_id,
        resources={"modeshift": ModeshiftResource(home_dir=str(home.root))},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    errors = [getattr(event.event_specific_data, "error", None) for event in result.all_events]
    messages = []
    for error in errors:
        while error is not None:
            messages.append((error.cls_name, error.message))
            error = error.cause
    failed = [event for event in result.all_events if event.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert len(failed) == 1 and not any(event.is_step_start for event in result.all_events)
    error = failed[0].event_specific_data.error
    assert error.cls_name == "ModeshiftError"
    assert error.message.strip() == (
        "pipelines.core.errors.ModeshiftError: "
        f'{home.config_file}: ingest.gx_sample_rows must be a whole number, got "many".'
    )
    assert not any(name == "ValueError" for name, _ in messages)
    assert _first_error(result, home) == (
        f'{home.config_file}: ingest.gx_sample_rows must be a whole number, got "many".'
    )  # what 'modeshift materialize' reports for such a run
    assert not staged_dir(home, file_id).exists()  # the step never ran


# ----------------------------------------------------------------------------------------------------- SLOs


def test_slos_match_by_name_or_glob_and_the_first_pattern_written_wins(home: Home) -> None:
    home.config_file.write_text(
        'slos:\n  "voice-eu": {latency_p99_ms: 4000, max_overflow_share: 0.02}\n'
        '  "voice-*": {ttft_p95_ms: 600}\n  "*": {ttft_p50_ms: 900.5}\n',
        encoding="utf-8",
    )
    settings = Settings.load(home)
    pattern, slo = settings.slo_for("voice-eu")
    assert pattern == "voice-eu" and (slo.metric, slo.percentile, slo.threshold_ms) == (
        "latency",
        "p99",
        4000.0,
    )
    assert slo.max_overflow_share == 0.02
    pattern, slo = settings.slo_for("voice-us")
    assert pattern == "voice-*" and (slo.metric, slo.percentile, slo.threshold_ms) == ("ttft", "p95", 600.0)
    assert slo.max_overflow_share == 0.05  # the default cap
    assert settings.slo_for("chat")[0] == "*"
    assert Settings.from_overrides({}).slo_for("voice-us") is None  # no SLO by default
    assert Settings.from_overrides({"slos": None}).slos == {}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "slos:\n  voice: {ttft_p95: 600}\n",
            "slos.voice.ttft_p95 is not a setting; did you mean slos.voice.ttft_p95_ms?",
        ),
        (
            "slos:\n  voice: {ttft_p95_ms: 600, latency_p99_ms: 900}\n",
            "slos.voice must set exactly one threshold (2 set)",
        ),
        ("slos:\n  voice: {max_overflow_share: 0.1}\n", "slos.voice must set exactly one threshold (0 set)"),
        ('slos:\n  voice: {ttft_p95_ms: "600"}\n', 'slos.voice.ttft_p95_ms must be a number, got "600".'),
        ("slos:\n  voice: {ttft_p95_ms: 0}\n", "slos.voice.ttft_p95_ms must be > 0, got 0."),
        (
            "slos:\n  voice: {ttft_p95_ms: 600, max_overflow_share: 5}\n",
            "slos.voice.max_overflow_share must be a fraction in [0, 1], got 5",
        ),
    ],
)
def test_a_bad_slo_is_refused_naming_its_key(home: Home, text: str, line: str) -> None:
    lines = _problems(home, text)
    assert len(lines) == 1 and line in lines[0], lines
