"""The FOCUS export (``modeshift export focus``): one week's observed serverless spend as a FinOps FOCUS 1.2 dataset,
Parquet or CSV (docs/analytics.md#focus-export).

It reads only the week's minute rollups (``lake/rollups/day=D/minutes.parquet``: per endpoint, model and minute the
ok input, cached input and output tokens, the list cost and the billed cost), never the request lake, and prices
the tokens of each UTC day with the rate-card row in force that day, as the rollup did. One row per endpoint,
model, day and token kind (input, cached input, output): ``PricingUnit`` '1000000 Tokens', ``PricingQuantity``
tokens / 10⁶, ``ListUnitPrice`` USD per million tokens, ``ConsumedQuantity`` tokens (``ConsumedUnit`` 'Tokens').

What the FOCUS columns mean here (FOCUS 1.2, columns and allowed values as the specification defines them):

* ``ListCost`` = ``ListUnitPrice`` × ``PricingQuantity``; ``ContractedCost`` / ``ContractedUnitPrice`` the same
  (modeshift knows no negotiated price);
* ``BilledCost``: what the log says the provider billed (``billed_cost_usd``), for the minutes whose every request
  carried it, split over the token kinds in proportion to their list cost (the log has one amount per request); the
  list cost elsewhere (FOCUS allows no null and no placeholder), ``x_BilledCostSource`` saying which;
  ``EffectiveCost`` = ``BilledCost`` (nothing amortized: serverless usage has no prepaid purchase);
* ``ChargePeriodStart`` / ``End``: the UTC day [00:00, next 00:00); ``BillingPeriodStart`` / ``End``: its calendar
  month (an assumption: the providers shipped invoice monthly);
* ``ResourceId`` / ``ResourceName``: the endpoint; ``SkuId`` = ``SkuPriceId`` = provider/model/kind;
  ``ProviderName``, ``PublisherName``, ``InvoiceIssuerName``, ``ServiceName`` from ``PROVIDER_NAMES`` (a provider not
  listed there: its profile name); ``BillingAccountId``: ``--billing-account``, else the provider's profile name.

Left out: minutes with an unpriced model (no list price: FOCUS needs one) and minutes with a dedicated or batch
request (replica hours and batch jobs are not per-token list spend); recommendations are no FOCUS data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.core.atomic import replace_file, temp_sibling
from pipelines.core.calendar import week_days
from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.lake.lineage import day_fingerprint, pending_rollup_days
from pipelines.lake.providers import endpoint_provider_frame
from pipelines.lake.rate_card import load_rate_card

# provider profile name -> (ProviderName = PublisherName = InvoiceIssuerName, ServiceName)
PROVIDER_NAMES: dict[str, tuple[str, str]] = {
    "together": ("Together AI", "Together AI Serverless Inference"),
    "azure-openai": ("Microsoft", "Azure OpenAI Service"),
    "azure-openai-regional": ("Microsoft", "Azure OpenAI Service"),
    "bedrock": ("AWS", "Amazon Bedrock"),
}
FORMATS = (".parquet", ".csv")


@dataclass(frozen=True)
class FocusExport:
    """What one export wrote: the file, its rows and covered days, the list and billed cost (USD) its rows add up to
    (``billed_cost_usd``: of the minutes whose log carried billed cost), and what it left out (requests, and the
    list cost in USD of the dedicated / batch minutes)."""

    path: Path
    rows: int
    days: list[str]
    list_cost_usd: float
    billed_cost_usd: float
    unpriced_requests: int
    not_serverless_requests: int
    not_serverless_list_cost_usd: float


def export_focus(
    home: Home, settings: Settings, week_start: date, out: Path, billing_account_id: str | None = None
) -> FocusExport:
    """Write the FOCUS 1.2 rows of the week starting ``week_start`` to ``out`` (``.parquet`` or ``.csv``, replaced
    atomically); a clear error for another suffix, a week without data, rollups not up to date or nothing to export."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ModeshiftError(
            f"{out.name} is neither a .parquet nor a .csv file.",
            "Name the --out file FILE.parquet or FILE.csv.",
        )
    days = [day for day in week_days(week_start) if day_fingerprint(home, day) is not None]
    if not days:
        raise ModeshiftError(
            f"The week starting {week_start} has no data.", "Pick a week with requests ('modeshift status')."
        )
    stale = sorted(set(days) & set(pending_rollup_days(home, settings)))
    if stale:
        raise ModeshiftError(
            f"The rollups of {', '.join(stale)} are not up to date (new data, rate card or settings).",
            "Run 'modeshift materialize' first.",
        )
    files = [str(home.rollup_day_dir(day) / "minutes.parquet") for day in days]
    with connect() as con:
        con.register("rate_card", load_rate_card(settings.rate_card_path))
        endpoints = con.sql(load_sql("export/focus_endpoints"), params={"files": files}).fetchall()
        con.register(
            "endpoint_provider", endpoint_provider_frame(settings, [str(row[0]) for row in endpoints])
        )
        con.register("focus_provider", _provider_names())
        params = {"files": files, "billing_account_id": billing_account_id}
        frame = con.sql(load_sql("export/focus_week"), params=params).pl()
        left = con.sql(load_sql("export/focus_left_out"), params={"files": files}).pl().row(0, named=True)
    if frame.height == 0:
        raise ModeshiftError(
            f"The week starting {week_start} has no priced serverless spend to export "
            f"({left['unpriced_requests']:,} requests of unpriced models, "
            f"{left['not_serverless_requests']:,} in minutes with dedicated or batch requests).",
            "Add the models to the rate card, or export a week with serverless traffic.",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(out)
    try:
        if suffix == ".parquet":
            frame.write_parquet(tmp)
        else:  # FOCUS Date/Time values are ISO 8601 in UTC: YYYY-MM-DDTHH:mm:ssZ
            frame.write_csv(tmp, datetime_format="%Y-%m-%dT%H:%M:%SZ")
        replace_file(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return FocusExport(
        path=out,
        rows=frame.height,
        days=days,
        list_cost_usd=float(left["kept_list_cost_usd"]),
        billed_cost_usd=float(left["kept_billed_cost_usd"]),
        unpriced_requests=int(left["unpriced_requests"]),
        not_serverless_requests=int(left["not_serverless_requests"]),
        not_serverless_list_cost_usd=float(left["not_serverless_list_cost_usd"]),
    )


def _provider_names() -> pl.DataFrame:
    """``PROVIDER_NAMES`` as a relation: provider, provider_name, service_name."""
    return pl.DataFrame(
        [(key, names[0], names[1]) for key, names in PROVIDER_NAMES.items()],
        schema={"provider": pl.String, "provider_name": pl.String, "service_name": pl.String},
        orient="row",
    )
