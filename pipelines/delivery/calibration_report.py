"""``modeshift calibrate``'s output: per endpoint served on dedicated replicas, the per-replica capacity its traffic
shows beside the capacity the card assumes for its request shape, and how to correct the card
(docs/cost-model.md#calibrating-replica-capacity)."""

from __future__ import annotations

from pipelines.core.text import text_table
from pipelines.lake.calibration import CalibrationRow

HEADERS = (
    "endpoint",
    "model",
    "replicas",
    "minutes",
    "est. tps/replica",
    "latency p95 ms",
    "card tps (shape)",
    "ratio",
)


def render_calibration(rows: list[CalibrationRow], other_endpoints: int = 0) -> str:
    """The calibration table (weighted tokens/s per replica, latency in ms, ratio = estimate / card), a hint per
    estimated endpoint, and the endpoints that could not be estimated with why; ``other_endpoints`` counts the
    endpoints left out (no dedicated traffic, no declared replicas)."""
    estimated = [row for row in rows if row.estimate is not None]
    skipped = [row for row in rows if row.estimate is None]
    lines: list[str] = []
    if estimated:
        table_rows = [
            (
                row.endpoint,
                row.model,
                row.replicas,
                row.estimate.minutes_observed,
                round(row.estimate.per_replica_tps),
                None if row.estimate.latency_p95_ms is None else round(row.estimate.latency_p95_ms),
                None if row.card_tps is None else round(row.card_tps),
                None if row.ratio is None else round(row.ratio, 2),
            )
            for row in estimated
            if row.estimate is not None
        ]
        lines.append(text_table(HEADERS, table_rows, max_width=48))
        lines.append("")
        lines.append(
            "est. tps/replica: the 95th percentile of the weighted tokens/s per declared replica over the minutes"
        )
        lines.append(
            "served on dedicated replicas; latency p95: the median P95 latency of the minutes at or above it;"
        )
        lines.append(
            "card tps: the capacity the card assumes for the endpoint's median request; ratio = est. / card."
        )
        lines.extend(f"  {row.endpoint}: {row.hint}" for row in estimated)
    else:
        lines.append(
            "No endpoint served on dedicated replicas with a declared replica count: nothing to calibrate."
        )
    if skipped:
        lines.append("")
        lines.append("Not calibrated:")
        lines.extend(
            f"  {row.endpoint}{' (' + row.model + ')' if row.model else ''}: {row.why}" for row in skipped
        )
    if other_endpoints:
        lines.append("")
        lines.append(
            f"{other_endpoints} other endpoint(s) served only serverless or batch: nothing to calibrate."
        )
    return "\n".join(lines) + "\n"
