"""modeshift settings: the shipped defaults (``pipelines/config/defaults.yaml``) overlaid with the user's
``$MODESHIFT_HOME/config.yaml``, validated once into typed, frozen pydantic models.

Every section of defaults.yaml has a model here that forbids unknown keys, so a typo is an error (with the
nearest valid key) instead of a setting silently ignored. Types are strict: a number must be a YAML number, not
text (``top_n: "five"`` and ``top_n: "5"`` are refused); a whole-number setting accepts a float only when it has
no fractional part (``top_n: 5.0`` is 5, ``top_n: 5.5`` is refused); true/false is never a number. Ranges are
checked here too (fractions in [0, 1], counts >= 1, ...), and so is the range of days Dagster partitions
(``pipelines/core/calendar.py``). ``Settings.load`` reports every problem at once, one sentence per line, each
naming the file and the dotted key.
"""

from __future__ import annotations

import copy
import csv
import difflib
import fnmatch
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from pipelines.core.calendar import (
    PARTITIONED_FUTURE_HOURS,
    PARTITIONS_START_DATE,
    DedupeWindow,
    parse_window,
)
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home

DEFAULTS_ORIGIN = "the shipped defaults.yaml"


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ModeshiftError(f"{origin} is not valid YAML{where}.", "Fix the file or remove it.") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ModeshiftError(f"{origin} must hold a mapping of settings, not a {type(loaded).__name__}.")
    return loaded


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, section by section; an empty section (``slack:`` with every key
    commented out, i.e. null) keeps the defaults of that section."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        elif value is None and isinstance(merged.get(key), dict):
            continue
        else:
            merged[key] = value
    return merged


def default_settings_mapping() -> dict[str, Any]:
    """The shipped defaults as a nested mapping."""
    text = (resources.files("pipelines") / "config" / "defaults.yaml").read_text(encoding="utf-8")
    return _read_yaml(text, DEFAULTS_ORIGIN)


def shipped_rate_card_path() -> Path:
    """Path of the rate card shipped with modeshift (CSV)."""
    return Path(str(resources.files("pipelines") / "config" / "rate_card.csv"))


def shipped_replica_capacity_path() -> Path:
    """Path of the replica capacity by request shape shipped with modeshift (CSV,
    docs/cost-model.md#replica-capacity-by-request-shape)."""
    return Path(str(resources.files("pipelines") / "config" / "replica_capacity.csv"))


def shipped_commitment_terms_path() -> Path:
    """Path of the commitment terms shipped with modeshift (CSV, docs/cost-model.md#commitment-terms)."""
    return Path(str(resources.files("pipelines") / "config" / "commitment_terms.csv"))


def shipped_provider_profiles_path() -> Path:
    """Path of the provider profiles shipped with modeshift (CSV, docs/cost-model.md#the-provider-profile)."""
    return Path(str(resources.files("pipelines") / "config" / "providers.csv"))


# ------------------------------------------------------------------------------------------------- field types


def _whole_float_to_int(value: Any) -> Any:
    """5.0 -> 5 (unambiguous); anything else is left for the strict int check to accept or refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _iso_date(value: Any) -> Any:
    """A YAML date (unquoted 2020-01-01) or an ISO text date; a time of day or any other value is refused."""
    if isinstance(value, datetime):
        raise ValueError("must be a date (YYYY-MM-DD) without a time of day")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date written YYYY-MM-DD") from None
    raise ValueError("must be a date written YYYY-MM-DD")


def _partitioned_start(value: date) -> date:
    if value < PARTITIONS_START_DATE:
        raise ValueError(
            f"must be on or after {PARTITIONS_START_DATE}",
            "that is the first day of the Dagster partitions, and rows of earlier days would have no partition",
        )
    return value


def _partitioned_future(value: float) -> float:
    if value > PARTITIONED_FUTURE_HOURS:
        raise ValueError(
            f"must be at most {PARTITIONED_FUTURE_HOURS} (hours)",
            "the daily Dagster partitions end with tomorrow (UTC), and rows stamped further ahead would land on "
            "a day without a partition",
        )
    return value


def _fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError("must be a fraction in [0, 1]", "write 10% as 0.10")
    return value


def _keys_as_text(value: Any) -> Any:
    """Endpoint names written as YAML numbers (``123: 2``) are the names "123"."""
    if isinstance(value, dict):
        return {str(key) if isinstance(key, int | float) and not isinstance(key, bool) else key: v
                for key, v in value.items()}  # fmt: skip
    return value


def _list_as_tuple(value: Any) -> Any:
    """A YAML list as a tuple; an empty key (null) is the empty list."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else value


def _none_as_empty(value: Any) -> Any:
    """An empty mapping key (null, every entry commented out) is the empty mapping."""
    return {} if value is None else value


WholeNumber = Annotated[int, BeforeValidator(_whole_float_to_int)]
Count = Annotated[WholeNumber, Field(ge=1)]
Fraction = Annotated[float, AfterValidator(_fraction)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    """A section of the settings: unknown keys are errors, types are strict, values are frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ------------------------------------------------------------------------------------------------- the sections


class IngestSettings(_Section):
    """Staging and validation of landed rows: first accepted UTC day, how far in the future a row may be stamped
    (hours after the file landed), longest name kept (characters), how far a quoted CSV field may run, the
    decompression cap of a gzip file (a ratio to its size, at least ``gzip_min_cap_bytes``), the longest record
    the record-by-record reader takes (bytes, decompressed), the Great Expectations row budget, and the share of a
    file's or a day's rows that may be quarantined before a (warning) check says so."""

    start_date: Annotated[date, BeforeValidator(_iso_date), AfterValidator(_partitioned_start)]
    max_future_hours: Annotated[NonNegative, AfterValidator(_partitioned_future)]
    max_name_length: Count
    gx_full_validation_max_rows: Count
    gx_sample_rows: Count
    csv_max_field_lines: Count
    csv_max_multiline_field_bytes: Count
    dedupe_same_iso_week: bool
    dedupe_adjacent_days: Annotated[WholeNumber, Field(ge=0)]
    gzip_max_ratio: Positive
    gzip_min_cap_bytes: Count
    max_record_bytes: Count
    max_quarantined_share: Fraction


class StabilityThresholds(_Section):
    """Baseline-stability classes: P10/P50 baseline ratio and active-hour shares as fractions, daily CV >= 0."""

    steady_min_baseline_ratio: Fraction
    steady_max_daily_cv: NonNegative
    steady_min_active_hour_share: Fraction
    sporadic_max_active_hour_share: Fraction


class BurstThresholds(_Section):
    """Burst classes: the Kim–Jo burstiness A_n lies in [-1, 1]; peak/p99-to-mean ratios are >= 0."""

    bursty_min_burstiness_an: Annotated[float, Field(ge=-1, le=1)]
    bursty_min_peak_to_mean: NonNegative
    smooth_max_burstiness_an: Annotated[float, Field(ge=-1, le=1)]
    smooth_max_p99_to_mean: NonNegative


class LatencyThresholds(_Section):
    """Latency classes: shares of interactive / offline requests and signal coverage, as fractions."""

    interactive_min_share: Fraction
    offline_min_share: Fraction
    mixed_min_signal_coverage: Fraction


class ProfilesSettings(_Section):
    """Class thresholds of the weekly endpoint profiles."""

    stability: StabilityThresholds
    burst: BurstThresholds
    latency: LatencyThresholds


class PolicySettingsSection(_Section):
    """The recommendation policy: minimum saving in USD per week and as a fraction of the current cost, weeks in a
    row the same cheaper mode must be seen, and the default target utilization of reserved replicas (fraction)."""

    min_savings_usd_per_week: NonNegative
    min_savings_pct: Fraction
    persistence_weeks: Count
    default_target_utilization: Annotated[float, Field(gt=0, le=1)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a name, not empty")
    return value


PRICE_BASES = ("auto", "list", "billed", "contract")


def _price_basis(value: str) -> str:
    if value not in PRICE_BASES:
        raise ValueError(f"must be one of {', '.join(PRICE_BASES)}, got {value!r}")
    return value


def _discount(value: float) -> float:
    if not 0 <= value < 1:
        raise ValueError(f"must be a fraction off list in [0, 1), got {value} (write 20% off as 0.20)")
    return value


class ContractPrice(_Section):
    """A negotiated serverless discount (docs/cost-model.md#price-bases): ``discount`` off the list price (a
    fraction, 0.20 = pay 80 % of list) of ``model`` served by ``provider`` (null = every provider), and ``source``:
    where the figure comes from (an order form, an invoice), required so that every price says its source."""

    model: Annotated[str, AfterValidator(_not_blank)]
    provider: Annotated[str, AfterValidator(_not_blank)] | None = None
    discount: Annotated[float, AfterValidator(_discount)]
    source: Annotated[str, AfterValidator(_not_blank)]


class GpuContractPrice(_Section):
    """A negotiated price of dedicated replicas (docs/cost-model.md#contract-gpu-prices): ``usd_per_gpu_hour`` (USD
    per GPU-hour, > 0) for every rate-card row of ``gpu_type`` at ``provider`` (null = every provider), in place of
    the card's price, and ``source``: where the figure comes from, required."""

    gpu_type: Annotated[str, AfterValidator(_not_blank)]
    provider: Annotated[str, AfterValidator(_not_blank)] | None = None
    usd_per_gpu_hour: Positive
    source: Annotated[str, AfterValidator(_not_blank)]


def _repeated_entries(keys: list[tuple[str, str | None]]) -> list[str]:
    """``name (provider)`` of every (name, provider) key listed more than once, sorted (provider None = every)."""
    return sorted(
        {
            f"{name} ({provider or 'every provider'})"
            for name, provider in keys
            if keys.count((name, provider)) > 1
        }
    )


class PricingSettings(_Section):
    """What serverless tokens cost (docs/cost-model.md#price-bases): the ``basis`` every serverless figure uses
    (``auto``: a contract discount where one is given, else billed where at least ``min_billed_coverage`` of a
    model's ok requests carry a billed cost, else list; ``list``; ``billed``: the logs' effective factor wherever
    there is one, else list; ``contract``: the ``contracts`` discounts, else list). Effective prices warn when a
    model's billed-to-list factor is further from 1 than ``max_billed_deviation`` (a non-negative share, 0.5 =
    outside 0.5 to 1.5), or when fewer than ``min_billed_coverage`` (a fraction) of its ok requests are billed.
    ``gpu_contracts``: negotiated GPU-hour prices of dedicated replicas, used under ``auto`` and ``contract``."""

    max_billed_deviation: NonNegative
    min_billed_coverage: Fraction
    basis: Annotated[str, AfterValidator(_price_basis)] = "auto"
    contracts: Annotated[tuple[ContractPrice, ...], BeforeValidator(_list_as_tuple)] = ()
    gpu_contracts: Annotated[tuple[GpuContractPrice, ...], BeforeValidator(_list_as_tuple)] = ()

    @model_validator(mode="after")
    def _one_contract_each(self) -> PricingSettings:
        repeated = _repeated_entries([(c.model, c.provider) for c in self.contracts])
        if repeated:
            raise ValueError(f"contracts: more than one discount for {', '.join(repeated)}")
        repeated = _repeated_entries([(c.gpu_type, c.provider) for c in self.gpu_contracts])
        if repeated:
            raise ValueError(f"gpu_contracts: more than one price for {', '.join(repeated)}")
        if self.basis == "contract" and not self.contracts and not self.gpu_contracts:
            raise ValueError(
                "basis contract needs at least one entry under pricing.contracts or pricing.gpu_contracts"
            )
        return self

    def gpu_contracts_in_use(self) -> tuple[GpuContractPrice, ...]:
        """The GPU contracts the basis applies: all of them under ``auto`` and ``contract``, none otherwise."""
        return self.gpu_contracts if self.basis in ("auto", "contract") else ()


class AnalyticsSettings(_Section):
    """The analysts' snapshots: how many are kept, the new one included (>= 2, so that a session on the previous
    file keeps its ``requests`` until it reconnects); for how many of the newest weeks the per-minute what-if tables
    are published (``whatif_weeks``, 0 to 52; 0 publishes them empty)."""

    keep_snapshots: Annotated[WholeNumber, Field(ge=2)]
    whatif_weeks: Annotated[WholeNumber, Field(ge=0, le=52)]


def _monday(value: date) -> date:
    if value.weekday() != 0:
        raise ValueError(f"must be a Monday (weeks start on Monday, UTC); {value} is a {value:%A}")
    return value


def _http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s<>|\"']+", value):
        raise ValueError("must be an http:// or https:// URL without spaces, quotes, '<', '>' or '|'")
    return value.rstrip("/")


class SlackSettings(_Section):
    """The weekly Slack report and its delivery: noise controls (USD per week, rows, excluded names or glob
    patterns), posts per sensor tick, retries, waits and timeouts in seconds; ``start_week``, the first week the
    sensor reports (a Monday; None: the weeks finished after the sensor's first tick), and ``dagster_url``, the
    Dagster UI the message links to (None: no links)."""

    min_saving_usd: NonNegative
    top_n: Count
    exclude_endpoints: Annotated[tuple[str, ...], BeforeValidator(_list_as_tuple)]
    max_posts_per_tick: Count
    max_attempts: Count
    backoff_seconds: NonNegative
    http_timeout_seconds: Positive
    max_retry_after_seconds: NonNegative
    tick_budget_seconds: Positive
    start_week: Annotated[date, BeforeValidator(_iso_date), AfterValidator(_monday)] | None = None
    dagster_url: Annotated[str, AfterValidator(_http_url)] | None = None


class JobsSettings(_Section):
    """How an endpoint's activity is split into jobs (runs) and how late their results may arrive
    (docs/metrics.md#jobs)."""

    idle_gap_minutes: Annotated[float, Field(ge=1, le=1440)]
    result_deadline_hours: Annotated[dict[str, Positive], BeforeValidator(_keys_as_text)]

    def deadline_hours(self, endpoint: str) -> float | None:
        """The result deadline of ``endpoint`` in hours: the first pattern (name or glob, in file order) that
        matches it; None when none does (any delay within the batch window is fine)."""
        for pattern, hours in self.result_deadline_hours.items():
            if fnmatch.fnmatchcase(endpoint, pattern):
                return hours
        return None


# The billing granularities a provider profile may have (minutes); pipelines.domain.provider holds the same tuple
# (core may not import the domain; a test checks that they agree).
BILLING_GRANULARITIES_MINUTES = (1, 60)


def _billing_granularity(value: int) -> int:
    if value not in BILLING_GRANULARITIES_MINUTES:
        choices = " or ".join(str(choice) for choice in BILLING_GRANULARITIES_MINUTES)
        raise ValueError(f"must be {choices} (minutes)", "1 = billed per minute, 60 = per clock hour")
    return value


MinutesOfADay = Annotated[WholeNumber, Field(ge=0, le=1440)]
WindowMinutes = Annotated[WholeNumber, Field(ge=1, le=1440)]


class ProviderSettings(_Section):
    """The provider whose dedicated-endpoint terms the plan families use (docs/cost-model.md#the-provider-profile):
    its ``name`` in the profiles file (``profiles``: a CSV path, null = the shipped one), and optional overrides
    of the profile's cold start and autoscaler windows (whole minutes, at most a day), scale-to-zero, and billing
    granularity (1 or 60 minutes). null keeps the profile's value. The overrides apply to the default provider
    ``name``. ``endpoints``: per endpoint name or glob pattern (first match, in the order written), another
    provider of the profiles file for that endpoint (``{"azure-*": azure-openai}``)."""

    name: Annotated[str, AfterValidator(_not_blank)]
    profiles: str | None = None
    endpoints: Annotated[
        dict[str, Annotated[str, AfterValidator(_not_blank)]],
        BeforeValidator(_keys_as_text),
        BeforeValidator(_none_as_empty),
    ] = {}
    cold_start_minutes: MinutesOfADay | None = None
    scale_up_window_minutes: WindowMinutes | None = None
    scale_down_window_minutes: WindowMinutes | None = None
    scale_to_zero: bool | None = None
    billing_granularity_minutes: Annotated[WholeNumber, AfterValidator(_billing_granularity)] | None = None

    def provider_name_for(self, endpoint: str) -> str:
        """The provider ``endpoint`` is costed with: the first ``endpoints`` key that is its name or a glob
        matching it (case-sensitive), else ``name``."""
        for pattern, provider in self.endpoints.items():
            if fnmatch.fnmatchcase(endpoint, pattern):
                return provider
        return self.name

    def chosen_names(self) -> list[str]:
        """Every provider name the section chooses: ``name`` first, then those of ``endpoints`` in order."""
        return list(dict.fromkeys([self.name, *self.endpoints.values()]))


def provider_names_in(path: Path) -> list[str]:
    """The ``name`` column of a provider profiles CSV, in file order (empty when the file has no such column);
    the full check of the file is the lake's ``load_provider_profiles``."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["name"] for row in csv.DictReader(handle) if row.get("name")]


class CommitmentsSettings(_Section):
    """Commitments (docs/cost-model.md#commitments): how many recent weeks (``lookback_weeks``, >= 1, this week
    included) a committed level is simulated on and must all have traffic, the commitment terms file
    (``terms_file``: a CSV path, null = the shipped one) and which of the provider's terms to consider (``terms``:
    names such as ``1-month``; empty = all)."""

    lookback_weeks: Count
    terms_file: str | None = None
    terms: Annotated[
        tuple[Annotated[str, AfterValidator(_not_blank)], ...], BeforeValidator(_list_as_tuple)
    ] = ()


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"
        ) from None
    return value


def _window_text(value: str) -> str:
    parse_window(value)  # raises ValueError with the reason
    return value


WindowText = Annotated[str, AfterValidator(_window_text)]


class SchedulesSettings(_Section):
    """Scheduled plans (docs/cost-model.md#scheduled): the IANA ``time_zone`` their windows are written in, and
    ``windows``: per endpoint name or glob pattern, a window the user declares (``Mon-Fri 08:00-20:00``), tried
    beside the ones modeshift proposes."""

    time_zone: Annotated[str, AfterValidator(_time_zone)]
    windows: Annotated[dict[str, WindowText], BeforeValidator(_keys_as_text), BeforeValidator(_none_as_empty)]

    def declared_window(self, endpoint: str) -> str | None:
        """The declared window of ``endpoint``: the first ``windows`` key that is its name or a glob matching it."""
        for pattern, window in self.windows.items():
            if fnmatch.fnmatchcase(endpoint, pattern):
                return window
        return None


class DeploymentSettings(_Section):
    """How a dedicated endpoint runs today, when it is not a plain replica count: an autoscaler between
    ``min_replicas`` and ``max_replicas``, or ``replicas`` on a ``window`` (a schedule, e.g. Mon-Fri 08:00-20:00
    in schedules.time_zone). Give either min and max, or replicas (with or without a window)."""

    replicas: Count | None = None
    min_replicas: Annotated[WholeNumber, Field(ge=0)] | None = None
    max_replicas: Count | None = None
    window: WindowText | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> DeploymentSettings:
        autoscale = self.min_replicas is not None or self.max_replicas is not None
        if autoscale and (self.replicas is not None or self.window is not None):
            raise ValueError(
                "give min_replicas and max_replicas (autoscale) or replicas (fixed or with a window)"
            )
        if autoscale and (self.min_replicas is None or self.max_replicas is None):
            raise ValueError("an autoscaled deployment needs both min_replicas and max_replicas")
        if autoscale and self.min_replicas > self.max_replicas:  # type: ignore[operator]
            raise ValueError("min_replicas must be <= max_replicas")
        if not autoscale and self.replicas is None:
            raise ValueError("give replicas, or min_replicas and max_replicas")
        return self

    @property
    def family(self) -> str:
        """``autoscale``, ``scheduled`` or ``fixed``."""
        if self.min_replicas is not None:
            return "autoscale"
        return "scheduled" if self.window is not None else "fixed"

    @property
    def most_replicas(self) -> int:
        """The most replicas the deployment runs."""
        return int(self.max_replicas if self.max_replicas is not None else self.replicas)  # type: ignore[arg-type]


def _count_as_fixed(value: Any) -> Any:
    """A plain replica count (``chat-api: 3``) is a fixed deployment of that many replicas; anything but a count or
    a mapping is refused here, so the message names the deployment rather than a field inside it."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(
            "must be a whole number (replicas) or a mapping (min_replicas/max_replicas or replicas/window)"
        )
    if value < 1:
        raise ValueError("must be >= 1")
    return {"replicas": int(value)}


Deployment = Annotated[DeploymentSettings, BeforeValidator(_count_as_fixed)]


SLO_METRICS = ("ttft", "latency")
SLO_PERCENTILES = ("p50", "p95", "p99")
DEFAULT_MAX_OVERFLOW_SHARE = 0.05


class SloSettings(_Section):
    """One endpoint's latency SLO (docs/cost-model.md#latency-slos): exactly one threshold, in milliseconds, on
    the time to first token or the whole request latency at P50, P95 or P99, and the largest share of weighted
    tokens (fraction) a plan that reserves capacity to meet it may still overflow to serverless."""

    ttft_p50_ms: Positive | None = None
    ttft_p95_ms: Positive | None = None
    ttft_p99_ms: Positive | None = None
    latency_p50_ms: Positive | None = None
    latency_p95_ms: Positive | None = None
    latency_p99_ms: Positive | None = None
    max_overflow_share: Fraction = DEFAULT_MAX_OVERFLOW_SHARE

    @model_validator(mode="after")
    def _one_threshold(self) -> SloSettings:
        given = [key for key in self._threshold_keys() if getattr(self, key) is not None]
        if len(given) != 1:
            keys = ", ".join(self._threshold_keys())
            raise ValueError(f"must set exactly one threshold ({len(given)} set)", f"one of {keys}")
        return self

    @staticmethod
    def _threshold_keys() -> list[str]:
        return [f"{metric}_{pct}_ms" for metric in SLO_METRICS for pct in SLO_PERCENTILES]

    @property
    def metric(self) -> str:
        """'ttft' or 'latency'."""
        return self._key().split("_")[0]

    @property
    def percentile(self) -> str:
        """'p50', 'p95' or 'p99'."""
        return self._key().split("_")[1]

    @property
    def threshold_ms(self) -> float:
        """The threshold, in milliseconds."""
        return float(getattr(self, self._key()))

    def _key(self) -> str:
        return next(key for key in self._threshold_keys() if getattr(self, key) is not None)


class PoolsSettings(_Section):
    """Pooled deployments (docs/cost-model.md#pools): whether the weekly step searches them (``enabled``), the
    endpoint names or glob patterns that must keep their own deployment (``isolated``), up to how many endpoints of
    one model the search tries every partition (``exact_search_limit``, 1 to 12), and how many groups the greedy
    search keeps open above that (``max_open_pools``)."""

    enabled: bool
    isolated: Annotated[tuple[str, ...], BeforeValidator(_list_as_tuple)]
    exact_search_limit: Annotated[WholeNumber, Field(ge=1, le=12)]
    max_open_pools: Count

    def is_isolated(self, endpoint: str) -> bool:
        """Whether ``endpoint`` must not share a deployment (its name or a glob of ``isolated`` matches it)."""
        return any(fnmatch.fnmatchcase(endpoint, pattern) for pattern in self.isolated)


class CapacitySettings(_Section):
    """How traffic is counted as load on dedicated capacity: ``cached_input_weight`` is the weight of one cached
    input token (a prompt-cache hit) in weighted tokens, where an uncached input token weighs 1 (a fraction in
    [0, 1]; 1 counts cache hits as full prefill work)."""

    cached_input_weight: Fraction


class Settings(_Section):
    """Every tunable of a modeshift home, validated: one typed attribute per section of defaults.yaml."""

    rate_card: str | None
    replica_capacity: str | None
    provider: ProviderSettings
    capacity: CapacitySettings
    commitments: CommitmentsSettings
    ingest: IngestSettings
    profiles: ProfilesSettings
    policy: PolicySettingsSection
    pricing: PricingSettings
    analytics: AnalyticsSettings
    deployments: Annotated[dict[str, Deployment], BeforeValidator(_keys_as_text)]
    schedules: SchedulesSettings
    jobs: JobsSettings
    slos: Annotated[dict[str, SloSettings], BeforeValidator(_keys_as_text), BeforeValidator(_none_as_empty)]
    pools: PoolsSettings
    slack: SlackSettings

    def deployment_of(self, endpoint: str) -> DeploymentSettings | None:
        """How ``endpoint`` is declared to run on dedicated capacity today (a plain count is a fixed deployment);
        None when it is not declared."""
        return self.deployments.get(endpoint)

    def slo_for(self, endpoint: str) -> tuple[str, SloSettings] | None:
        """The SLO of ``endpoint`` and the ``slos`` key it came from: the first key, in the order written, that is
        the endpoint's name or a glob pattern matching it (``voice-*``; case-sensitive); None without one."""
        for pattern, slo in self.slos.items():
            if fnmatch.fnmatchcase(endpoint, pattern):
                return pattern, slo
        return None

    @property
    def dedupe_window(self) -> DedupeWindow:
        """Across which UTC days a repeated request_id is a duplicate (``ingest.dedupe_same_iso_week``,
        ``ingest.dedupe_adjacent_days``)."""
        return DedupeWindow(self.ingest.dedupe_same_iso_week, self.ingest.dedupe_adjacent_days)

    @property
    def rate_card_path(self) -> Path:
        """The rate card in force: ``rate_card`` when set (``~`` expanded), else the shipped CSV."""
        return Path(self.rate_card).expanduser() if self.rate_card else shipped_rate_card_path()

    @property
    def replica_capacity_path(self) -> Path:
        """The replica capacity by request shape in force: ``replica_capacity`` when set (``~`` expanded), else the
        shipped CSV."""
        if self.replica_capacity:
            return Path(self.replica_capacity).expanduser()
        return shipped_replica_capacity_path()

    @property
    def provider_profiles_path(self) -> Path:
        """The provider profiles file in force: ``provider.profiles`` when set (``~`` expanded), else the shipped
        CSV."""
        if self.provider.profiles:
            return Path(self.provider.profiles).expanduser()
        return shipped_provider_profiles_path()

    @property
    def commitment_terms_path(self) -> Path:
        """The commitment terms file in force: ``commitments.terms_file`` when set (``~`` expanded), else the
        shipped CSV."""
        if self.commitments.terms_file:
            return Path(self.commitments.terms_file).expanduser()
        return shipped_commitment_terms_path()

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], origin: str = "config.yaml") -> Settings:
        """The shipped defaults overlaid with ``overrides`` (a mapping shaped like config.yaml), validated; every
        problem is reported in one ``ModeshiftError``, one line each, naming ``origin`` and the dotted key."""
        values = _deep_merge(default_settings_mapping(), overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            lines = [_describe(problem, overrides, origin) for problem in error.errors()]
            raise ModeshiftError("\n".join(dict.fromkeys(lines))) from None

    @classmethod
    def load(cls, home: Home) -> Settings:
        """Defaults overlaid with ``home.config_file`` when it exists, validated once; a clear error for a bad file
        or a missing rate card."""
        overrides: dict[str, Any] = {}
        if home.config_file.exists():
            overrides = _read_yaml(home.config_file.read_text(encoding="utf-8"), str(home.config_file))
        settings = cls.from_overrides(overrides, str(home.config_file))
        files = (
            ("The rate card", settings.rate_card_path, "rate_card"),
            ("The replica capacity file", settings.replica_capacity_path, "replica_capacity"),
            ("The provider profiles file", settings.provider_profiles_path, "provider.profiles"),
            ("The commitment terms file", settings.commitment_terms_path, "commitments.terms_file"),
        )
        for what, path, key in files:
            if not path.is_file():
                raise ModeshiftError(
                    f"{what} {path} does not exist.",
                    f"Point '{key}' in config.yaml to a CSV file, or remove the key to use the shipped one.",
                )
        settings.check_provider_names()
        return settings

    @classmethod
    def partitions_start(cls, home: Home) -> date:
        """The first UTC day of the Dagster partitions for ``home``: its ``ingest.start_date`` (config.yaml over the
        defaults), or the shipped default when config.yaml cannot be loaded (that error is then reported when a run
        or sensor tick loads the settings, in its own words). Read once, when the code location is loaded."""
        try:
            return cls.load(home).ingest.start_date
        except ModeshiftError:
            return _iso_date(default_settings_mapping()["ingest"]["start_date"])

    def check_provider_names(self) -> None:
        """Raise a ``ModeshiftError`` listing the known providers when ``provider.name`` or a provider chosen under
        ``provider.endpoints`` is not in the provider profiles file (checked at set-up, before any run)."""
        path = self.provider_profiles_path
        try:
            known = provider_names_in(path)
        except (OSError, UnicodeDecodeError, csv.Error):
            return  # an unreadable file is reported, with its first problem, when the profiles are loaded
        for name in self.provider.chosen_names():
            if name not in known:
                key = "provider.name" if name == self.provider.name else "provider.endpoints"
                raise ModeshiftError(
                    f"{key} is {name!r}, which {path} does not list.",
                    f"Known providers: {', '.join(sorted(known))}.",
                )


# ---------------------------------------------------------------------------------------------- error messages

_TYPE_WORDS = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping of settings",
    "model_attributes_type": "must be a mapping of settings",
    "finite_number": "must be a finite number",
}


_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value)
    elif isinstance(value, float) and value.is_integer():
        shown = str(int(value))
    elif isinstance(value, int | float):
        shown = repr(value)
    else:
        shown = json.dumps(value, default=str)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _in_mapping(mapping: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    node: Any = mapping
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def _section_model(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the section at ``path``; a key of a mapping of sections (``slos.voice-*``) is skipped."""
    model: type[BaseModel] = Settings
    parts = list(path)
    while parts:
        part = parts.pop(0)
        field = model.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field is not None else None
        value_type = _mapped_section(annotation)
        if value_type is not None and parts:
            parts.pop(0)
            annotation = value_type
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _mapped_section(annotation: Any) -> type[BaseModel] | None:
    """The value model of a ``dict[str, <section>]`` annotation, else None."""
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is dict and len(args) == 2:
        value = args[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value
    return None


def _all_keys(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_all_keys(annotation, f"{prefix}{name}."))
    return keys


def _suggestion(loc: tuple[Any, ...]) -> str | None:
    """The valid key nearest to the unknown key ``loc``: a close name in the same section, else the same name in
    another section, else the closest dotted key anywhere."""
    parent, name = loc[:-1], str(loc[-1])
    model = _section_model(parent)
    siblings = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(name, siblings, n=1, cutoff=0.6)
    if close:
        return _dotted((*parent, close[0]))
    keys = _all_keys()
    elsewhere = [key for key in keys if key.rsplit(".", 1)[-1] == name]
    if elsewhere:
        return elsewhere[0]
    close = difflib.get_close_matches(_dotted(loc), keys, n=1, cutoff=0.6)
    return close[0] if close else None


def _describe(problem: Mapping[str, Any], overrides: Mapping[str, Any], origin: str) -> str:
    """One sentence for one validation problem, naming the file the value came from and its dotted key."""
    loc = tuple(problem["loc"])
    key = _dotted(loc)
    kind = problem["type"]
    where = origin if _in_mapping(overrides, loc) else DEFAULTS_ORIGIN
    if kind == "extra_forbidden":
        nearest = _suggestion(loc)
        if nearest:
            return f"{where}: {key} is not a setting; did you mean {nearest}?"
        return f"{where}: {key} is not a setting."
    if kind == "missing":
        return f"{where}: {key} is missing."
    context = problem.get("ctx") or {}
    reason = ""
    if kind == "value_error":
        # the validators above raise ValueError(predicate) or ValueError(predicate, reason)
        args = getattr(context.get("error"), "args", ()) or (problem["msg"],)
        predicate, reason = str(args[0]), "; ".join(str(arg) for arg in args[1:])
    elif kind in _BOUNDS:
        word, bound = _BOUNDS[kind]
        predicate = f"must be {word} {_show(context[bound])}"
    else:
        predicate = _TYPE_WORDS.get(kind, "is not valid: " + str(problem["msg"]).lower())
    return f"{where}: {key} {predicate}, got {_show(problem.get('input'))}{'; ' + reason if reason else ''}."
