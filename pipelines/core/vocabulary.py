"""modeshift's vocabulary: every mode, action and class name a table may hold, in one place.

The names are data (they land in Parquet and DuckDB tables and in Slack messages), so they are plain strings;
these tuples are the allowed sets the checks, the policy and the delivery layer test against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# How an endpoint is served today (``deployment_mode`` of a request; ``current_mode`` of a recommendation).
SERVERLESS = "serverless"
DEDICATED = "dedicated"
HYBRID = "hybrid"
BATCH = "batch"
CURRENT_MODES = (SERVERLESS, DEDICATED, BATCH)
# What a plan can be: hybrid = reserved replicas with serverless overflow.
PLAN_MODES = (SERVERLESS, DEDICATED, HYBRID, BATCH)
# The plans that reserve GPU replicas (replicas >= 1 exactly for these).
RESERVED_MODES = (DEDICATED, HYBRID)

# What the policy says about an endpoint-week.
MIGRATE = "migrate"
HOLD = "hold"
STAY = "stay"
TUNE = "tune"  # new settings within the plan family already running (e.g. autoscale max 4 → 5)
ACTIONS = (MIGRATE, HOLD, STAY, TUNE)

CONFIDENCE_LEVELS = ("high", "medium", "low")

# Week status of a latency SLO on serverless (table slo_status, recommendations.slo_status).
SLO_MET = "met"
SLO_BREACHED = "breached"
SLO_NOT_CHECKED = "not_checked"
SLO_STATUSES = (SLO_MET, SLO_BREACHED, SLO_NOT_CHECKED)

# Classes of a traffic profile (docs/metrics.md).
STABILITY_CLASSES = ("steady", "variable", "sporadic")
BURST_CLASSES = ("bursty", "moderate", "smooth")
LATENCY_CLASSES = ("interactive", "offline", "mixed", "unknown")
OFFLINE = "offline"


def is_reserved(mode: str | None) -> bool:
    """Whether a plan of ``mode`` reserves GPU replicas (dedicated or hybrid)."""
    return mode in RESERVED_MODES


def is_held_candidate(recommendation: Mapping[str, Any]) -> bool:
    """Whether a recommendations row is a *held candidate*: the policy holds back a cheaper plan of another mode
    (action 'hold' and a raw mode that differs from the current one)."""
    raw_mode = recommendation["raw_mode"]
    return (
        recommendation["action"] == HOLD
        and raw_mode is not None
        and raw_mode != recommendation["current_mode"]
    )
