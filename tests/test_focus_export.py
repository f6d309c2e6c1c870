"""``modeshift export focus``: a week's observed serverless spend as FOCUS 1.2 (docs/analytics.md#focus-export),
from a real home built through Dagster, in Parquet and CSV, locally and in object mode.

The FOCUS 1.2 column list below (id, data type, whether nulls are allowed, feature level) is the specification's
(the "Content Constraints" table of each column); the export claims every column except ``NOT_EXPORTED``."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines.app.cli import main
from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.ingest.landing import land_file

# FOCUS 1.2: column id -> (data type, allows nulls, feature level)
FOCUS_12: dict[str, tuple[str, bool, str]] = {
    "AvailabilityZone": ("String", True, "Recommended"),
    "BilledCost": ("Decimal", False, "Mandatory"),
    "BillingAccountId": ("String", False, "Mandatory"),
    "BillingAccountName": ("String", True, "Mandatory"),
    "BillingAccountType": ("String", False, "Conditional"),
    "BillingCurrency": ("String", False, "Mandatory"),
    "BillingPeriodEnd": ("Date/Time", False, "Mandatory"),
    "BillingPeriodStart": ("Date/Time", False, "Mandatory"),
    "CapacityReservationId": ("String", True, "Conditional"),
    "CapacityReservationStatus": ("String", True, "Conditional"),
    "ChargeCategory": ("String", False, "Mandatory"),
    "ChargeClass": ("String", True, "Mandatory"),
    "ChargeDescription": ("String", True, "Mandatory"),
    "ChargeFrequency": ("String", False, "Recommended"),
    "ChargePeriodEnd": ("Date/Time", False, "Mandatory"),
    "ChargePeriodStart": ("Date/Time", False, "Mandatory"),
    "CommitmentDiscountCategory": ("String", True, "Conditional"),
    "CommitmentDiscountId": ("String", True, "Conditional"),
    "CommitmentDiscountName": ("String", True, "Conditional"),
    "CommitmentDiscountQuantity": ("Decimal", True, "Conditional"),
    "CommitmentDiscountStatus": ("String", True, "Conditional"),
    "CommitmentDiscountType": ("String", True, "Conditional"),
    "CommitmentDiscountUnit": ("String", True, "Conditional"),
    "ConsumedQuantity": ("Decimal", True, "Conditional"),
    "ConsumedUnit": ("String", True, "Conditional"),
    "ContractedCost": ("Decimal", False, "Mandatory"),
    "ContractedUnitPrice": ("Decimal", True, "Conditional"),
    "EffectiveCost": ("Decimal", False, "Mandatory"),
    "InvoiceId": ("String", True, "Recommended"),
    "InvoiceIssuerName": ("String", False, "Mandatory"),
    "ListCost": ("Decimal", False, "Mandatory"),
    "ListUnitPrice": ("Decimal", True, "Conditional"),
    "PricingCategory": ("String", True, "Conditional"),
    "PricingCurrency": ("String", True, "Conditional"),
    "PricingCurrencyContractedUnitPrice": ("Decimal", True, "Conditional"),
    "PricingCurrencyEffectiveCost": ("Decimal", True, "Conditional"),
    "PricingCurrencyListUnitPrice": ("Decimal", True, "Conditional"),
    "PricingQuantity": ("Decimal", True, "Mandatory"),
    "PricingUnit": ("String", True, "Mandatory"),
    "ProviderName": ("String", False, "Mandatory"),
    "PublisherName": ("String", False, "Mandatory"),
    "RegionId": ("String", True, "Conditional"),
    "RegionName": ("String", True, "Conditional"),
    "ResourceId": ("String", True, "Conditional"),
    "ResourceName": ("String", True, "Conditional"),
    "ResourceType": ("String", True, "Conditional"),
    "ServiceCategory": ("String", False, "Mandatory"),
    "ServiceName": ("String", False, "Mandatory"),
    "ServiceSubcategory": ("String", False, "Recommended"),
    "SkuId": ("String", True, "Conditional"),
    "SkuMeter": ("String", True, "Conditional"),
    "SkuPriceDetails": ("JSON", True, "Conditional"),
    "SkuPriceId": ("String", True, "Conditional"),
    "SubAccountId": ("String", True, "Conditional"),
    "SubAccountName": ("String", True, "Conditional"),
    "SubAccountType": ("String", True, "Conditional"),
    "Tags": ("JSON", True, "Conditional"),
}
# Conditional columns whose condition does not hold for a per-token serverless bill (docs/analytics.md#focus-export).
NOT_EXPORTED = {
    "BillingAccountType",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "SubAccountType",
}
CUSTOM = ["x_BilledCostSource", "x_Model", "x_TokenKind"]
POLARS_TYPE = {"Decimal": pl.Float64, "String": pl.String, "JSON": pl.String}

WEEK = "2026-09-28"  # Monday; the week runs into October: two billing periods
CARD = (
    "model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,"
    "gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of,"
    "cached_input_usd_per_mtok\n"
    "cached/model,2020-01-01,,2.50,10.00,false,,G1,1,2.0,1000,3,1.0,test card,2026-11-01,1.25\n"
    "plain/model,2020-01-01,,2.50,10.00,false,,G1,1,2.0,1000,3,1.0,test card,2026-11-01,\n"
)
# Per request of billed-chat: 6,000 uncached × $2.50 + 4,000 cached × $1.25 + 500 output × $10 per million
# = $0.015 + $0.005 + $0.005 = $0.025 list, $0.02 billed (split 0.6 / 0.2 / 0.2 like the list cost).
# plain-chat (no cached price): 1,000 uncached + 1,000 cached at $2.50 + 100 output at $10 = $0.006, nothing billed.
# mixed: 1,000 input + 100 output = $0.0035 a request; a minute with one of two requests billed is not billed.
LIST_TOTAL = 12 * 0.025 + 5 * 0.006 + 3 * 0.0035  # $0.3405
BILLED_TOTAL = (10 * 0.02 + 0.001 + 2 * 0.02) + 5 * 0.006 + (0.003 + 2 * 0.0035)  # $0.281
LOGGED_BILLED = 10 * 0.02 + 0.001 + 2 * 0.02 + 0.003  # the billed cost of the fully billed minutes: $0.244


def _at(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


def _requests() -> list[dict]:
    def request(
        endpoint: str, model: str, ts: str, tokens_in: int, cached: int | None, tokens_out: int, **more
    ):
        row = {"ts": _at(ts), "endpoint": endpoint, "model": model, "input_tokens": tokens_in,
               "output_tokens": tokens_out} | more  # fmt: skip
        return row | ({"cached_input_tokens": cached} if cached is not None else {})

    monday = datetime(2026, 9, 28, 10)
    rows = [
        request("billed-chat", "cached/model", str(monday + timedelta(minutes=k)), 10_000, 4_000, 500,
                billed_cost_usd=0.02)
        for k in range(10)
    ]  # fmt: skip
    rows += [
        request("billed-chat", "cached/model", "2026-09-28T10:00:30", 10_000, 4_000, 0, ok=False, billed_cost_usd=0.001),
        request("billed-chat", "cached/model", "2026-09-30T23:59:59.500", 10_000, 4_000, 500, billed_cost_usd=0.02),
        request("billed-chat", "cached/model", "2026-10-01T00:00:00", 10_000, 4_000, 500, billed_cost_usd=0.02),
    ]  # fmt: skip
    rows += [
        request("plain-chat", "plain/model", f"2026-09-28T11:0{k}:00", 2_000, 1_000, 100) for k in range(5)
    ]
    rows += [
        request("mixed", "cached/model", "2026-09-30T12:00:00", 1_000, None, 100, billed_cost_usd=0.01),
        request("mixed", "cached/model", "2026-09-30T12:00:30", 1_000, None, 100),
        request("mixed", "cached/model", "2026-09-30T12:05:00", 1_000, None, 100, billed_cost_usd=0.003),
    ]
    rows += [
        request("dedicated-ep", "cached/model", f"2026-09-28T10:0{k}:10", 1_000, None, 100, deployment_mode="dedicated")
        for k in range(3)
    ]  # fmt: skip
    rows += [request("unpriced", "x/unknown", f"2026-09-28T10:0{k}:20", 1_000, None, 100) for k in range(2)]
    return [row | {"request_id": f"r{i}"} for i, row in enumerate(rows)]


def _write_inputs(tmp: Path) -> tuple[Path, Path]:
    card, log = tmp / "card.csv", tmp / "week.jsonl"
    card.write_text(CARD)
    log.write_text("".join(json.dumps(row) + "\n" for row in _requests()))
    return card, log


@pytest.fixture(scope="module")
def focus_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home where the week went through the pipeline (real Dagster runs)."""
    root = tmp_path_factory.mktemp("focus")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODESHIFT_HOME", str(root / "home"))
        patch.setenv("MODESHIFT_SALT", "focus-salt")
        patch.delenv("MODESHIFT_LAKE", raising=False)
        home = Home(root / "home").ensure()
        card, log = _write_inputs(root)
        home.config_file.write_text(f"rate_card: {card}\n")
        land_file(home, log, "canonical", {})
        materialize_pending(home, progress=lambda _: None)
    return home


@pytest.fixture
def use_home(focus_home: Home, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setenv("MODESHIFT_HOME", str(focus_home.root))
    monkeypatch.setenv("MODESHIFT_SALT", "focus-salt")
    monkeypatch.delenv("MODESHIFT_LAKE", raising=False)
    return focus_home


def _export(tmp_path: Path, name: str, *more: str) -> Path:
    out = tmp_path / name
    assert main(["export", "focus", "--week", WEEK, "--out", str(out), *more]) == 0
    return out


def _check_rows(frame: pl.DataFrame, home: Home | None) -> None:
    """What both formats must hold, on the typed frame."""
    assert (
        frame.height == 14
    )  # billed-chat 3 days × 3 kinds, plain-chat 3 kinds, mixed 2 kinds (no cached tokens)
    for column, (_, nullable, _) in FOCUS_12.items():
        if column in frame.columns and not nullable:
            assert frame[column].null_count() == 0, column
    assert frame["ListCost"].sum() == pytest.approx(LIST_TOTAL, rel=1e-12)
    assert frame["BilledCost"].sum() == pytest.approx(BILLED_TOTAL, rel=1e-12)
    assert (frame["EffectiveCost"] == frame["BilledCost"]).all()
    assert (frame["ContractedCost"] == frame["ListCost"]).all()
    for row in frame.iter_rows(named=True):
        assert row["ListCost"] == pytest.approx(row["ListUnitPrice"] * row["PricingQuantity"], rel=1e-12)
        assert row["PricingQuantity"] == pytest.approx(row["ConsumedQuantity"] / 1e6, rel=1e-15)
        assert json.loads(row["Tags"]) == {
            "modeshift/endpoint": row["ResourceId"],
            "modeshift/model": row["x_Model"],
        }
    assert set(frame["ChargeCategory"]) == {"Usage"} and frame["ChargeClass"].null_count() == frame.height
    assert set(frame["ChargeFrequency"]) == {"Usage-Based"} and set(frame["PricingCategory"]) == {"Standard"}
    assert set(frame["ServiceCategory"]) == {"AI and Machine Learning"}
    assert set(frame["ServiceSubcategory"]) == {"Generative AI"}
    assert set(frame["PricingUnit"]) == {"1000000 Tokens"} and set(frame["ConsumedUnit"]) == {"Tokens"}
    assert set(frame["BillingCurrency"]) == {"USD"} and set(frame["ProviderName"]) == {"Together AI"}
    assert set(frame["ResourceId"]) == {
        "billed-chat",
        "plain-chat",
        "mixed",
    }  # dedicated and unpriced left out

    by = {
        (r["ResourceId"], r["ChargePeriodStart"].date(), r["x_TokenKind"]): r
        for r in frame.iter_rows(named=True)
    }
    monday = by[("billed-chat", date(2026, 9, 28), "input")]
    assert monday["ConsumedQuantity"] == 10 * 6_000  # the failed request's tokens are not spend
    assert monday["ListUnitPrice"] == 2.50 and monday["ListCost"] == pytest.approx(10 * 0.015)
    assert monday["BilledCost"] == pytest.approx((10 * 0.02 + 0.001) * 0.6)  # pro rata to list cost
    assert monday["x_BilledCostSource"] == "log"
    cached = by[("billed-chat", date(2026, 9, 28), "cached_input")]
    assert (cached["ListUnitPrice"], cached["ConsumedQuantity"], cached["SkuMeter"]) == (
        1.25,
        40_000,
        "Cached Input Tokens",
    )
    assert cached["SkuId"] == cached["SkuPriceId"] == "together/cached/model/cached_input"
    plain = by[("plain-chat", date(2026, 9, 28), "cached_input")]
    assert (
        plain["ListUnitPrice"] == 2.50 and plain["BilledCost"] == plain["ListCost"]
    )  # no cached price: input's
    assert plain["x_BilledCostSource"] == "list price (not in the log)"
    mixed = [r for r in frame.iter_rows(named=True) if r["ResourceId"] == "mixed"]
    assert sum(r["BilledCost"] for r in mixed) == pytest.approx(0.003 + 2 * 0.0035)
    assert {r["x_BilledCostSource"] for r in mixed} == {"log, list price where not logged"}

    # ChargePeriod: whole UTC days; the request at 23:59:59.5 on the 30th and the one at midnight on the 1st apart.
    for row in frame.iter_rows(named=True):
        start, end = row["ChargePeriodStart"], row["ChargePeriodEnd"]
        assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
        assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
        assert end - start == timedelta(days=1)
        month = date(start.year, start.month, 1)
        assert row["BillingPeriodStart"] == datetime(month.year, month.month, 1, tzinfo=UTC)
        assert row["BillingPeriodEnd"] == datetime(2026, month.month + 1, 1, tzinfo=UTC)
    assert by[("billed-chat", date(2026, 9, 30), "input")]["ConsumedQuantity"] == 6_000
    assert by[("billed-chat", date(2026, 10, 1), "input")]["ConsumedQuantity"] == 6_000
    assert by[("billed-chat", date(2026, 10, 1), "input")]["BillingPeriodStart"] == datetime(
        2026, 10, 1, tzinfo=UTC
    )

    if home is not None:  # the totals are the rollups' list and billed cost of the minutes exported
        minutes = pl.read_parquet([str(p) for p in sorted(home.rollups.glob("day=*/minutes.parquet"))])
        kept = minutes.filter(
            (pl.col("unpriced_requests") == 0)
            & (pl.col("dedicated_requests") == 0)
            & (pl.col("batch_requests") == 0)
        )
        assert frame["ListCost"].sum() == pytest.approx(kept["list_cost_usd"].sum(), rel=1e-12)
        billed = kept.filter(pl.col("billed_requests") == pl.col("requests"))["billed_cost_usd"].sum()
        assert billed == pytest.approx(LOGGED_BILLED, rel=1e-12)


@pytest.mark.slow
def test_parquet_has_every_claimed_focus_column_with_its_type_and_the_known_totals(
    use_home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _export(tmp_path, "week.parquet")
    printed = capsys.readouterr().out
    assert "14 FOCUS 1.2 row(s), 3 day(s), list cost $0.34, billed cost in the log $0.24" in printed
    assert (
        "left out: 2 request(s) of unpriced models, 3 in minutes with dedicated or batch requests ($0.01"
        in printed
    )
    frame = pl.read_parquet(out)
    claimed = [c for c in FOCUS_12 if c not in NOT_EXPORTED]
    assert frame.columns == claimed + CUSTOM  # FOCUS columns first (alphabetical), custom x_ columns after
    assert all(level != "Mandatory" for column, (_, _, level) in FOCUS_12.items() if column in NOT_EXPORTED)
    for column in claimed:
        kind = FOCUS_12[column][0]
        if kind == "Date/Time":
            assert frame.schema[column] == pl.Datetime("us", "UTC"), column
        else:
            assert frame.schema[column] == POLARS_TYPE[kind], column
    _check_rows(frame, use_home)
    assert set(frame["BillingAccountId"]) == {"together"}


@pytest.mark.slow
def test_csv_holds_the_same_rows_as_iso_utc_text(use_home: Home, tmp_path: Path) -> None:
    out = _export(tmp_path, "week.csv", "--billing-account", "acct-42")
    text = pl.read_csv(out, infer_schema=False)
    assert text.columns == [c for c in FOCUS_12 if c not in NOT_EXPORTED] + CUSTOM
    numeric = re.compile(
        r"^-?\d+(\.\d+)?([eE]-?\d+)?$"
    )  # FOCUS NumericFormat: no '+', no thousands separators
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # FOCUS DateTimeFormat
    casts = []
    for column in text.columns:
        kind = FOCUS_12.get(column, ("String",))[0]
        values = [v for v in text[column].to_list() if v is not None]
        if kind == "Decimal":
            assert all(numeric.match(v) for v in values), (column, values[:3])
            casts.append(pl.col(column).cast(pl.Float64))
        elif kind == "Date/Time":
            assert values and all(stamp.match(v) for v in values), (column, values[:3])
            casts.append(pl.col(column).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"))
    frame = text.with_columns(casts)
    _check_rows(frame, None)
    assert set(frame["BillingAccountId"]) == {"acct-42"}
    parquet = pl.read_parquet(_export(tmp_path, "same.parquet", "--billing-account", "acct-42"))
    assert frame.equals(parquet.select(frame.columns))  # the same rows and values, read back from text


@pytest.mark.slow
def test_a_week_without_data_or_a_bad_file_name_is_one_clear_error(
    use_home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "focus", "--week", "2026-10-05", "--out", str(tmp_path / "x.parquet")]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "modeshift: error: The week starting 2026-10-05 has no data. Pick a week with requests ('modeshift status')."
    )
    assert not (tmp_path / "x.parquet").exists()
    assert main(["export", "focus", "--week", WEEK, "--out", str(tmp_path / "x.json")]) == 2
    assert "neither a .parquet nor a .csv" in capsys.readouterr().err
    assert main(["export", "focus", "--week", "2026-09-29"]) == 2
    assert "not a Monday" in capsys.readouterr().err


@pytest.mark.slow
def test_object_mode_brings_in_the_rollups_and_writes_the_same_file(
    use_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = pl.read_parquet(_export(tmp_path, "local.parquet"))
    lake = tmp_path / "lake"
    monkeypatch.setenv("MODESHIFT_LAKE", str(lake))
    monkeypatch.delenv("MODESHIFT_HOME", raising=False)
    monkeypatch.setenv("MODESHIFT_SCRATCH", str(tmp_path / "scratch"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    card, log = _write_inputs(tmp_path)
    lake.mkdir()
    (lake / "config.yaml").write_text(f"rate_card: {card}\n")
    assert main(["ingest", "--format", "canonical", str(log)]) == 0
    assert main(["materialize", "--quiet"]) == 0
    remote = pl.read_parquet(_export(tmp_path, "remote.parquet"))
    assert remote.equals(local)
