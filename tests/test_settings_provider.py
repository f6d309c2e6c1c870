"""The provider profile: the shipped providers.csv, its loader's errors, the ``provider:`` settings section (strict
types and ranges, overrides) and ``provider_profile`` (docs/cost-model.md#the-provider-profile)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipelines.core import settings as settings_module
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings, shipped_provider_profiles_path
from pipelines.domain import provider as provider_module
from pipelines.domain.provider import ProviderProfile
from pipelines.lake.lineage import week_fingerprint
from pipelines.lake.providers import load_provider_profiles, provider_profile

HEADER = (
    "name,billing_granularity_minutes,min_replicas_while_running,scale_to_zero,cold_start_minutes,"
    "scale_up_window_minutes,scale_down_window_minutes,source,as_of\n"
)


def _problems(home: Home, text: str) -> list[str]:
    home.config_file.write_text(text, encoding="utf-8")
    with pytest.raises(ModeshiftError) as raised:
        Settings.load(home)
    return str(raised.value).splitlines()


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "providers.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_the_shipped_together_profile_is_the_issue_s_terms_with_its_source() -> None:
    profiles = load_provider_profiles(shipped_provider_profiles_path())
    together = profiles["together"]
    assert together == ProviderProfile(
        name="together",
        billing_granularity_minutes=1,
        min_replicas_while_running=1,
        scale_to_zero=False,
        cold_start_minutes=5,
        scale_up_window_minutes=1,
        scale_down_window_minutes=10,
        source=together.source,
        as_of=date(2026, 7, 1),
    )
    assert "together.ai dedicated endpoints docs" in together.source
    assert "assumptions until measured" in together.source
    assert together.lowest_min_replicas == 1  # no scale-to-zero: a running endpoint keeps one replica
    # the shipped default is the domain's default record, field for field (but for the source text and date)
    assert provider_module.TOGETHER_DEFAULT == ProviderProfile(name="together")
    for field in ("billing_granularity_minutes", "min_replicas_while_running", "scale_to_zero"):
        assert getattr(together, field) == getattr(provider_module.TOGETHER_DEFAULT, field)


def test_core_and_domain_agree_on_the_billing_granularities() -> None:
    assert settings_module.BILLING_GRANULARITIES_MINUTES == provider_module.BILLING_GRANULARITIES_MINUTES


def test_the_default_settings_give_the_shipped_profile(home: Home) -> None:
    settings = Settings.load(home)
    assert settings.provider.name == "together"
    assert settings.provider_profiles_path == shipped_provider_profiles_path()
    assert provider_profile(settings) == load_provider_profiles(shipped_provider_profiles_path())["together"]


def test_overrides_replace_only_the_fields_they_name(home: Home) -> None:
    home.config_file.write_text(
        "provider:\n  cold_start_minutes: 2\n  scale_down_window_minutes: 15.0\n  scale_to_zero: true\n"
        "  billing_granularity_minutes: 60\n",
        encoding="utf-8",
    )
    profile = provider_profile(Settings.load(home))
    assert profile.cold_start_minutes == 2 and profile.scale_down_window_minutes == 15
    assert profile.scale_to_zero is True and profile.lowest_min_replicas == 0
    assert profile.billing_granularity_minutes == 60
    assert profile.scale_up_window_minutes == 1 and profile.min_replicas_while_running == 1  # kept
    assert profile.source.startswith("together.ai")


def test_a_user_profiles_file_and_another_name(home: Home, tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "together,1,1,false,5,1,10,shipped copy,2026-07-01\nacme,60,2,true,12,3,30,our contract (2026-10),2026-10-01\n",
    )
    home.config_file.write_text(f"provider:\n  name: acme\n  profiles: {path}\n", encoding="utf-8")
    profile = provider_profile(Settings.load(home))
    assert profile == ProviderProfile(
        "acme", 60, 2, True, 12, 3, 30, "our contract (2026-10)", date(2026, 10, 1)
    )


def test_an_unknown_provider_name_lists_the_known_ones(home: Home) -> None:
    home.config_file.write_text("provider:\n  name: fireworks\n", encoding="utf-8")
    with pytest.raises(ModeshiftError) as raised:
        provider_profile(Settings.load(home))
    message = str(raised.value)
    assert "provider.name is 'fireworks'" in message
    assert "Known providers: azure-openai, azure-openai-regional, bedrock, together." in message


def test_unknown_provider_names_fail_at_set_up(home: Home) -> None:
    # the settings load itself refuses them, before any run reads the profiles
    home.config_file.write_text("provider:\n  name: fireworks\n", encoding="utf-8")
    with pytest.raises(ModeshiftError, match="provider.name is 'fireworks'"):
        Settings.load(home)
    home.config_file.write_text('provider:\n  endpoints:\n    "azure-*": azure\n', encoding="utf-8")
    with pytest.raises(ModeshiftError) as raised:
        Settings.load(home)
    assert "provider.endpoints is 'azure'" in str(raised.value)
    assert "Known providers: azure-openai, azure-openai-regional, bedrock, together." in str(raised.value)


def test_endpoints_choose_their_provider_by_glob_first_match_wins(home: Home) -> None:
    home.config_file.write_text(
        'provider:\n  cold_start_minutes: 2\n  endpoints:\n    "azure-batch": bedrock\n    "azure-*": azure-openai\n',
        encoding="utf-8",
    )
    settings = Settings.load(home)
    assert settings.provider.provider_name_for("azure-chat") == "azure-openai"
    assert settings.provider.provider_name_for("azure-batch") == "bedrock"  # written first
    assert settings.provider.provider_name_for("support-bot") == "together"
    azure = provider_profile(settings, "azure-chat")
    assert azure.name == "azure-openai" and azure.unit == "PTU increment" and not azure.autoscaling
    assert azure.cold_start_minutes == 5  # the overrides apply to the default provider only
    assert provider_profile(settings, "support-bot").cold_start_minutes == 2
    assert provider_profile(settings).name == "together"


def test_a_provider_choice_changes_the_rollup_and_week_fingerprints(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.lake import lineage

    before = Settings.load(home)
    home.config_file.write_text('provider:\n  endpoints:\n    "azure-*": azure-openai\n', encoding="utf-8")
    after = Settings.load(home)
    week = date(2026, 11, 9)
    assert week_fingerprint(home, before, week, None) != week_fingerprint(home, after, week, None)
    assert before.provider.chosen_names() == ["together"]
    assert after.provider.chosen_names() == ["together", "azure-openai"]
    # the choice is part of what a day's rollup is built from (its prices and weighted tokens)
    monkeypatch.setattr(lineage, "day_fingerprint", lambda home, day: "merged-day")
    assert lineage.rollup_fingerprint(home, before, "2026-11-09") != lineage.rollup_fingerprint(
        home, after, "2026-11-09"
    )


def test_an_older_profiles_file_without_unit_and_autoscaling_counts_replicas_that_autoscale(
    tmp_path: Path,
) -> None:
    profiles = load_provider_profiles(_csv(tmp_path, "acme,1,1,false,5,1,10,ours,2026-10-01\n"))
    assert profiles["acme"].unit == "replica" and profiles["acme"].autoscaling


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("provider:\n  cold_start_minutes: -1\n", "provider.cold_start_minutes must be >= 0, got -1."),
        ("provider:\n  cold_start_minutes: 1441\n", "provider.cold_start_minutes must be <= 1440, got 1441."),
        (
            "provider:\n  cold_start_minutes: 2.5\n",
            "provider.cold_start_minutes must be a whole number, got 2.5.",
        ),
        (
            'provider:\n  cold_start_minutes: "5"\n',
            'provider.cold_start_minutes must be a whole number, got "5".',
        ),
        (
            "provider:\n  scale_up_window_minutes: 0\n",
            "provider.scale_up_window_minutes must be >= 1, got 0.",
        ),
        (
            "provider:\n  scale_down_window_minutes: 0\n",
            "provider.scale_down_window_minutes must be >= 1, got 0.",
        ),
        ("provider:\n  scale_to_zero: 1\n", "provider.scale_to_zero must be true or false, got 1."),
        (
            "provider:\n  billing_granularity_minutes: 15\n",
            "provider.billing_granularity_minutes must be 1 or 60 (minutes), got 15; 1 = billed per minute, "
            "60 = per clock hour.",
        ),
        ('provider:\n  name: " "\n', 'provider.name must be a name, not empty, got " ".'),
        (
            "provider:\n  cold_start_minute: 3\n",
            "provider.cold_start_minute is not a setting; did you mean provider.cold_start_minutes?",
        ),
    ],
)
def test_the_provider_section_is_strict(home: Home, text: str, expected: str) -> None:
    assert _problems(home, text) == [f"{home.config_file}: {expected}"]


def test_a_missing_profiles_file_is_one_sentence(home: Home, tmp_path: Path) -> None:
    assert _problems(home, f"provider:\n  profiles: {tmp_path / 'nope.csv'}\n") == [
        f"The provider profiles file {tmp_path / 'nope.csv'} does not exist. Point 'provider.profiles' in "
        "config.yaml to a CSV file, or remove the key to use the shipped one."
    ]


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        (HEADER.replace(",as_of", ""), "together,1,1,false,5,1,10,x\n", "missing as_of; unknown nothing"),
        (HEADER.replace("\n", ",colour\n"), "together,1,1,false,5,1,10,x,2026-07-01,red\n", "unknown colour"),
        (HEADER, "together,1,1,maybe,5,1,10,x,2026-07-01\n", "cannot be read"),
        (HEADER, "together,1,1,false,5,1,10,,2026-07-01\n", "has rows without source"),
        (
            HEADER,
            "together,1,1,false,5,1,10,x,2026-07-01\ntogether,1,1,false,5,1,10,y,2026-07-01\n",
            "more than once",
        ),
        (
            HEADER,
            "together,15,1,false,5,1,10,x,2026-07-01\n",
            "billing_granularity_minutes must be one of (1, 60)",
        ),
        (HEADER, "together,1,1,false,-2,1,10,x,2026-07-01\n", "cold_start_minutes must be >= 0"),
        (HEADER, "together,1,1,false,5,0,10,x,2026-07-01\n", "windows must be >= 1 minute"),
        (HEADER, "", "has no rows"),
    ],
)
def test_a_bad_profiles_file_is_a_clear_error(tmp_path: Path, header: str, body: str, expected: str) -> None:
    path = _csv(tmp_path, body, header)
    with pytest.raises(ModeshiftError) as raised:
        load_provider_profiles(path)
    assert f"The provider profiles file {path}" in str(raised.value)
    assert expected in str(raised.value)


def test_the_settings_ranges_are_the_record_s(home: Home) -> None:
    # every value the settings accept, the record accepts, and the first value past each bound is refused by both
    for key, bad in (
        ("cold_start_minutes", -1),
        ("scale_up_window_minutes", 0),
        ("scale_down_window_minutes", 0),
    ):
        home.config_file.write_text(f"provider:\n  {key}: {bad}\n", encoding="utf-8")
        with pytest.raises(ModeshiftError):
            Settings.load(home)
        with pytest.raises(ValueError):
            ProviderProfile("x", **{key: bad})
        home.config_file.write_text(f"provider:\n  {key}: {bad + 1}\n", encoding="utf-8")
        assert getattr(provider_profile(Settings.load(home)), key) == bad + 1


def test_the_provider_is_an_input_of_the_weekly_outputs(home: Home) -> None:
    def week_part(text: str) -> str:
        home.config_file.write_text(text, encoding="utf-8")
        return week_fingerprint(home, Settings.load(home), date(2026, 11, 2), None)

    default = week_part("")
    assert week_part("provider: {cold_start_minutes: 5}\n") != default  # written out, though equal to the CSV
    assert week_part("provider: {scale_down_window_minutes: 20}\n") != default
    assert week_part("slack: {top_n: 9}\n") == default
