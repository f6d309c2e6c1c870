-- FOCUS 1.2 rows of one week's observed serverless spend (docs/analytics.md#focus-export), read from the minute
-- rollups ($files: the minutes.parquet of the week's covered days), one row per endpoint, model, UTC day and token
-- kind: 'input' (uncached input tokens), 'cached_input' (prompt-cache hits) and 'output', each priced per
-- 1,000,000 tokens at the rate-card row in force that day (relation rate_card; each endpoint's provider from the
-- relation endpoint_provider; display names from the relation focus_provider: provider, provider_name,
-- service_name). $billing_account_id: VARCHAR or NULL (then the provider's name in the profiles).
-- Minute rows kept: every model priced (unpriced_requests = 0) and every request serverless (no dedicated or batch
-- request in the minute): replicas and batch jobs are not billed per token at list price.
-- Costs: ListCost = tokens x list unit price / 1e6 (ContractedCost the same: no negotiated price is known).
-- BilledCost: a minute whose every request carried billed_cost_usd is billed; a day's billed minutes give their
-- billed cost, split over the token kinds pro rata to those minutes' list cost (all of it to 'input' when their
-- list cost is 0), and its other minutes their list cost. EffectiveCost = BilledCost (no amortized purchase).
-- Kinds with no tokens and no billed cost are no row (usage-based charges exist only where the service was used).
WITH kept AS (
    SELECT
        endpoint,
        model,
        CAST(minute AS DATE) AS day,
        requests > 0 AND billed_requests = requests AS billed,
        ok_input_tokens - ok_cached_input_tokens AS fresh_tokens,
        ok_cached_input_tokens AS cached_tokens,
        ok_output_tokens AS output_tokens,
        coalesce(billed_cost_usd, 0.0) AS billed_cost_usd
    FROM read_parquet($files, union_by_name = true)
    WHERE unpriced_requests = 0 AND dedicated_requests = 0 AND batch_requests = 0
),
daily AS (
    SELECT
        endpoint,
        model,
        day,
        sum(CASE WHEN billed THEN fresh_tokens ELSE 0 END) AS fresh_billed,
        sum(CASE WHEN billed THEN 0 ELSE fresh_tokens END) AS fresh_unbilled,
        sum(CASE WHEN billed THEN cached_tokens ELSE 0 END) AS cached_billed,
        sum(CASE WHEN billed THEN 0 ELSE cached_tokens END) AS cached_unbilled,
        sum(CASE WHEN billed THEN output_tokens ELSE 0 END) AS output_billed,
        sum(CASE WHEN billed THEN 0 ELSE output_tokens END) AS output_unbilled,
        sum(CASE WHEN billed THEN billed_cost_usd ELSE 0 END) AS billed_usd,
        bool_and(billed) AS all_billed,
        bool_or(billed) AS any_billed
    FROM kept
    GROUP BY endpoint, model, day
),
priced AS (
    SELECT
        d.*,
        p.provider,
        coalesce(f.provider_name, p.provider) AS provider_name,
        coalesce(f.service_name, p.provider) AS service_name,
        c.input_usd_per_mtok AS input_price,
        coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok) AS cached_price,
        c.output_usd_per_mtok AS output_price,
        (d.fresh_billed * c.input_usd_per_mtok
            + d.cached_billed * coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok)
            + d.output_billed * c.output_usd_per_mtok) / 1e6 AS list_billed_usd
    FROM daily AS d
    JOIN endpoint_provider AS p
        ON d.endpoint = p.endpoint
    JOIN rate_card AS c
        ON d.model = c.model
        AND c.provider = p.provider
        AND d.day >= c.effective_from
        AND (c.effective_to IS NULL OR d.day < c.effective_to)
    LEFT JOIN focus_provider AS f
        ON p.provider = f.provider
),
kinds AS (
    SELECT *, 'input' AS kind, 'Input Tokens' AS meter, 'input tokens' AS words,
        fresh_billed AS tokens_billed, fresh_unbilled AS tokens_unbilled, input_price AS unit_price
    FROM priced
    UNION ALL
    SELECT *, 'cached_input', 'Cached Input Tokens', 'cached input tokens (prompt-cache reads)',
        cached_billed, cached_unbilled, cached_price
    FROM priced
    UNION ALL
    SELECT *, 'output', 'Output Tokens', 'output tokens', output_billed, output_unbilled, output_price
    FROM priced
),
costed AS (
    SELECT
        *,
        tokens_billed + tokens_unbilled AS tokens,
        (tokens_billed + tokens_unbilled) * unit_price / 1e6 AS list_usd,
        CASE
            WHEN list_billed_usd > 0 THEN billed_usd * (tokens_billed * unit_price / 1e6) / list_billed_usd
            WHEN kind = 'input' THEN billed_usd
            ELSE 0.0
        END + tokens_unbilled * unit_price / 1e6 AS charged_usd
    FROM kinds
)
SELECT
    CAST(NULL AS VARCHAR) AS AvailabilityZone,
    charged_usd AS BilledCost,
    coalesce(CAST($billing_account_id AS VARCHAR), provider) AS BillingAccountId,
    CAST(NULL AS VARCHAR) AS BillingAccountName,
    'USD' AS BillingCurrency,
    CAST(CAST(date_trunc('month', day) AS DATE) + INTERVAL 1 MONTH AS TIMESTAMPTZ) AS BillingPeriodEnd,
    CAST(CAST(date_trunc('month', day) AS DATE) AS TIMESTAMPTZ) AS BillingPeriodStart,
    CAST(NULL AS VARCHAR) AS CapacityReservationId,
    CAST(NULL AS VARCHAR) AS CapacityReservationStatus,
    'Usage' AS ChargeCategory,
    CAST(NULL AS VARCHAR) AS ChargeClass,
    'Serverless ' || words || ' of ' || model || ' for endpoint ' || endpoint AS ChargeDescription,
    'Usage-Based' AS ChargeFrequency,
    CAST(day + 1 AS TIMESTAMPTZ) AS ChargePeriodEnd,
    CAST(day AS TIMESTAMPTZ) AS ChargePeriodStart,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountCategory,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountId,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountName,
    CAST(NULL AS DOUBLE) AS CommitmentDiscountQuantity,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountStatus,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountType,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountUnit,
    tokens AS ConsumedQuantity,
    'Tokens' AS ConsumedUnit,
    list_usd AS ContractedCost,
    unit_price AS ContractedUnitPrice,
    charged_usd AS EffectiveCost,
    CAST(NULL AS VARCHAR) AS InvoiceId,
    provider_name AS InvoiceIssuerName,
    list_usd AS ListCost,
    unit_price AS ListUnitPrice,
    'Standard' AS PricingCategory,
    tokens / 1e6 AS PricingQuantity,
    '1000000 Tokens' AS PricingUnit,
    provider_name AS ProviderName,
    provider_name AS PublisherName,
    CAST(NULL AS VARCHAR) AS RegionId,
    CAST(NULL AS VARCHAR) AS RegionName,
    endpoint AS ResourceId,
    endpoint AS ResourceName,
    'LLM Endpoint' AS ResourceType,
    'AI and Machine Learning' AS ServiceCategory,
    service_name AS ServiceName,
    'Generative AI' AS ServiceSubcategory,
    provider || '/' || model || '/' || kind AS SkuId,
    meter AS SkuMeter,
    CAST(NULL AS VARCHAR) AS SkuPriceDetails,
    provider || '/' || model || '/' || kind AS SkuPriceId,
    CAST(NULL AS VARCHAR) AS SubAccountId,
    CAST(NULL AS VARCHAR) AS SubAccountName,
    CAST(to_json({'modeshift/endpoint': endpoint, 'modeshift/model': model}) AS VARCHAR) AS Tags,
    CASE WHEN all_billed THEN 'log' WHEN any_billed THEN 'log, list price where not logged'
        ELSE 'list price (not in the log)' END AS x_BilledCostSource,
    model AS x_Model,
    kind AS x_TokenKind
FROM costed
WHERE tokens > 0 OR charged_usd <> 0
ORDER BY ChargePeriodStart, ResourceId, x_Model, x_TokenKind
