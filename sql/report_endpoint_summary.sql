-- Per endpoint: what was ingested (the summary printed until recommendations exist).
SELECT
    endpoint,
    arg_max(model, n) AS model,
    sum(n) AS requests,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    round(1 - sum(ok_requests) / sum(n), 4) AS error_rate,
    count(DISTINCT day) AS days
FROM (
    SELECT endpoint, model, day, count(*) AS n, count(*) FILTER (WHERE ok) AS ok_requests,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
    FROM requests
    GROUP BY ALL
)
GROUP BY endpoint
ORDER BY requests DESC
