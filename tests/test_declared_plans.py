"""Declared deployments and windows: the window text, the settings that declare an autoscaler or a schedule, and
the policy costing the declared plan as the current one (a change of its settings is a tuning)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from pipelines.core.calendar import parse_window
from pipelines.core.errors import ModeshiftError
from pipelines.core.settings import Settings
from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import (
    ScheduleWindow,
    autoscale_plan,
    cost_of_setting,
    family_options,
    propose_windows,
)
from pipelines.domain.policy import EndpointWeekInput, PolicySettings, decide
from pipelines.domain.provider import ProviderProfile

OFFER = DedicatedOffer("H100-80GB", 1, 6.0, 1250.0, 0.8)
PROFILE = ProviderProfile("test", cold_start_minutes=5)
MINUTES = 7 * 1440
CELLS = (np.arange(MINUTES) // 1440) * 24 + (np.arange(MINUTES) % 1440) // 60


def test_window_text_to_cells() -> None:
    office = parse_window("Mon-Fri 08:00-20:00")
    assert sum(office) == 60 and office[8] and office[19] and not office[20] and not office[5 * 24 + 9]
    assert parse_window("Mon–Fri 08:00–20:00") == office  # en dashes, as modeshift writes them
    assert sum(parse_window("daily 00:00-24:00")) == 168
    assert parse_window("weekends 10:00-12:00") == parse_window("Sat,Sun 10:00-12:00")
    night = parse_window("Fri-Mon 20:00-08:00")  # wraps past midnight and past Sunday
    assert sum(night) == 48 and night[4 * 24 + 20] and night[0] and night[7] and not night[8]
    for bad in ("Mon 8-9", "Funday 08:00-09:00", "Mon 08:30-09:00", "Mon 08:00-08:00", "Mon-Fri"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_settings_declare_autoscalers_schedules_and_counts() -> None:
    settings = Settings.from_overrides(
        {
            "deployments": {
                "fixed": 3,
                "auto": {"min_replicas": 1, "max_replicas": 4},
                "office": {"replicas": 2, "window": "Mon-Fri 08:00-20:00"},
            },
            "schedules": {"time_zone": "Europe/Berlin", "windows": {"office-*": "weekdays 07:00-19:00"}},
        }
    )
    assert [settings.deployment_of(n).family for n in ("fixed", "auto", "office")] == [
        "fixed",
        "autoscale",
        "scheduled",
    ]
    assert settings.deployment_of("auto").most_replicas == 4 and settings.deployment_of("nobody") is None
    assert settings.schedules.declared_window("office-eu") == "weekdays 07:00-19:00"
    assert settings.schedules.declared_window("chat") is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"deployments": {"a": {"min_replicas": 3, "max_replicas": 2}}},
            "min_replicas must be <= max_replicas",
        ),
        ({"deployments": {"a": {"min_replicas": 1}}}, "needs both min_replicas and max_replicas"),
        ({"deployments": {"a": {"min_replicas": 1, "max_replicas": 2, "replicas": 2}}}, "give min_replicas"),
        ({"deployments": {"a": {"replicas": 2, "window": "Mon 8-9"}}}, "hours must be whole"),
        ({"schedules": {"time_zone": "Mars/Olympus"}}, "is not an IANA time zone"),
        ({"schedules": {"windows": {"x": "someday 08:00-09:00"}}}, "days must be Mon..Sun"),
    ],
)
def test_bad_declarations_are_refused_with_the_reason(overrides: dict, expected: str) -> None:
    with pytest.raises(ModeshiftError, match=expected):
        Settings.from_overrides(overrides)


def _office_week() -> tuple[np.ndarray, np.ndarray]:
    """Weekdays 08:00-20:00 at 2.5 replicas' planned capacity with a 30-minute burst to 4 each noon; idle else."""
    minute = np.arange(MINUTES)
    hour = (minute % 1440) // 60
    weekday = minute // 1440 < 5
    demand = np.where(weekday & (hour >= 8) & (hour < 20), 2500.0, 0.0)
    demand[weekday & ((minute % 1440) >= 720) & ((minute % 1440) < 750)] = 4000.0
    return demand, demand * 0.0002


def _decide(current_plan, families, history=("serverless",)):
    demand, cost = _office_week()
    curve = plan_curve(demand, cost, OFFER, 168.0)
    return decide(
        EndpointWeekInput(
            endpoint="office",
            model="m",
            week_start=date(2026, 11, 9),
            current_mode="dedicated",
            latency_class="interactive",
            coverage_days=7,
            covered_hours=168.0,
            serverless_cost_usd=float(cost.sum()),
            curve=curve,
            declared_replicas=current_plan.max_replicas,
            declared_plan=current_plan,
            families=families,
            provider=PROFILE,
            history_raw_modes=list(history),
        ),
        PolicySettings(),
    )


def test_a_declared_autoscaler_is_the_current_plan_and_a_better_max_is_a_tuning() -> None:
    demand, cost = _office_week()
    curve = plan_curve(demand, cost, OFFER, 168.0)
    windows = propose_windows(demand, cost, OFFER, CELLS, "UTC")
    # the user runs autoscale 3-8: three replicas stay warm all week, nights and weekends included
    current = cost_of_setting("autoscale", 8, 3, 8, None, demand, cost, OFFER, PROFILE, CELLS)
    assert current.total_cost_usd == pytest.approx(
        autoscale_plan(demand, cost, OFFER, PROFILE, 3, 8).total_cost_usd
    )
    options = family_options(
        demand, cost, curve, PROFILE, [w for w in windows if "traffic" not in w.label], CELLS
    )
    only_autoscale = type(options)(fixed=None, autoscale=options.autoscale, scheduled=None)
    decision = _decide(current, only_autoscale)
    assert decision.current_cost_usd == pytest.approx(current.total_cost_usd)
    assert decision.action == "tune", decision.reasons
    assert decision.plan_family == "autoscale"
    assert decision.min_replicas < 3
    assert decision.savings_usd == pytest.approx(current.total_cost_usd - options.autoscale.total_cost_usd)
    assert any(
        r.startswith("tuning within the autoscale family: autoscale 3–8 replicas →") for r in decision.reasons
    )


def test_a_declared_schedule_moving_to_an_autoscaler_is_a_migration_that_waits_for_persistence() -> None:
    demand, cost = _office_week()
    curve = plan_curve(demand, cost, OFFER, 168.0)
    window = [c for c, on in enumerate(parse_window("daily 06:00-22:00")) if on]
    current = cost_of_setting("scheduled", 4, 0, 4, window, demand, cost, OFFER, PROFILE, CELLS)
    assert current.window is not None and current.replica_hours == pytest.approx(4 * (7 * 16 + 7 * 5 / 60))
    options = family_options(demand, cost, curve, PROFILE, [], CELLS)
    only_autoscale = type(options)(fixed=None, autoscale=options.autoscale, scheduled=None)
    first = _decide(current, only_autoscale, history=())
    assert first.action == "hold" and any("needs 2 weeks in a row" in r for r in first.held_reasons)
    second = _decide(current, only_autoscale, history=("hybrid/autoscale",))
    assert second.action == "migrate" and second.plan_family == "autoscale"
    assert second.raw_family == "autoscale"


def test_the_scheduled_window_of_a_declared_deployment_is_costed_on_its_cells() -> None:
    demand, cost = _office_week()
    office = ScheduleWindow(parse_window("Mon-Fri 08:00-20:00"), "office")
    plan = cost_of_setting("scheduled", 4, 0, 4, [c for c, on in enumerate(office.cells) if on], demand, cost,
                           OFFER, PROFILE, CELLS)  # fmt: skip
    # 4 replicas × (60 window hours + 5 starts × 5 warm-up minutes) at $6/hour; no demand outside the window
    assert plan.reserved_cost_usd == pytest.approx(4 * (60 + 25 / 60) * 6.0)
    assert plan.overflow_cost_usd == pytest.approx(0.0, abs=1e-9)
