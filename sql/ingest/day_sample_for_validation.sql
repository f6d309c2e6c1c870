-- The rows of one lake day ($files) that Great Expectations validates: all of them when $modulus = 1, else the
-- deterministic sample whose request_id hashes to 0 modulo $modulus.
SELECT
    request_id, ts, endpoint, model, input_tokens, output_tokens, cached_input_tokens, latency_ms, ttft_ms, ok,
    stream, interactive, client, deployment_mode, billed_cost_usd, source_file, source_line
FROM read_parquet($files)
WHERE $modulus = 1 OR hash(request_id) % $modulus = 0
