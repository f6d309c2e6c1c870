-- The one-row table saying what this analytics file holds: when it was published, from which snapshot of the
-- request lake, the newest week with recommendations, and the row count of every table (NULL: not published,
-- because the pipeline had not produced it yet).
CREATE TABLE published AS
SELECT
    CAST($published_at AS TIMESTAMPTZ) AS published_at,
    CAST($snapshot AS VARCHAR) AS snapshot,
    CAST($snapshot_dir AS VARCHAR) AS snapshot_dir,
    CAST($newest_week AS DATE) AS newest_week,
    CAST($requests_rows AS BIGINT) AS requests_rows,
    CAST($quarantine_rows AS BIGINT) AS quarantine_rows,
    CAST($ingest_log_rows AS BIGINT) AS ingest_log_rows,
    CAST($endpoint_profiles_rows AS BIGINT) AS endpoint_profiles_rows,
    CAST($spend_concentration_rows AS BIGINT) AS spend_concentration_rows,
    CAST($spend_concentration_summary_rows AS BIGINT) AS spend_concentration_summary_rows,
    CAST($model_spend_concentration_rows AS BIGINT) AS model_spend_concentration_rows,
    CAST($model_spend_concentration_summary_rows AS BIGINT) AS model_spend_concentration_summary_rows,
    CAST($plan_curve_rows AS BIGINT) AS plan_curve_rows,
    CAST($plan_options_rows AS BIGINT) AS plan_options_rows,
    CAST($recommendations_rows AS BIGINT) AS recommendations_rows,
    CAST($batch_jobs_rows AS BIGINT) AS batch_jobs_rows,
    CAST($slo_status_rows AS BIGINT) AS slo_status_rows,
    CAST($backtest_rows AS BIGINT) AS backtest_rows,
    CAST($pool_recommendations_rows AS BIGINT) AS pool_recommendations_rows,
    CAST($commitments_rows AS BIGINT) AS commitments_rows,
    CAST($rate_card_rows AS BIGINT) AS rate_card_rows,
    CAST($week_minutes_rows AS BIGINT) AS week_minutes_rows,
    CAST($endpoint_minutes_rows AS BIGINT) AS endpoint_minutes_rows,
    CAST($endpoint_offers_rows AS BIGINT) AS endpoint_offers_rows
