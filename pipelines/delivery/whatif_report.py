"""The text ``modeshift whatif`` prints: a what-if plan's cost breakdown beside the week's recommendation
(docs/cost-model.md#what-if). Renders the JSON-ready dict the weekly what-if computes (USD per week)."""

from __future__ import annotations

from typing import Any


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _signed(value: float) -> str:
    return ("+" if value > 0.005 else "-" if value < -0.005 else "±") + f"${abs(value):,.2f}"


def render_whatif(result: dict[str, Any]) -> str:
    """The what-if as lines of text: plan, breakdown (USD per week, replica-hours, fractions), SLO verdicts, the
    week's recommendation and the differences (what-if − recommended, what-if − current: positive costs more)."""
    lines = [
        f"what-if for {result['endpoint']} ({result['model']}), week starting {result['week_start']}",
        f"plan:                    {result['plan']}  [{result['spec']}]",
        f"reserved:                {_usd(result['reserved_cost_usd'])}/week",
        f"overflow (serverless):   {_usd(result['overflow_cost_usd'])}/week",
        f"total:                   {_usd(result['total_cost_usd'])}/week",
        f"replica-hours:           {result['replica_hours']:,.1f}",
        f"utilization:             {_share(result['utilization'])}",
        f"overflow share:          {_share(result['overflow_share'])}",
    ]
    if result["family"] == "autoscale":
        lines.append(f"cold-start overflow:     {_usd(result['cold_start_overflow_usd'])}/week")
    for slo in result["slo"]:
        within = {True: "within", False: "ABOVE", None: "not known"}[slo["within"]]
        lines.append(
            f"SLO {slo['endpoint']}: {slo['metric']} {slo['percentile']} <= {slo['threshold_ms']:g} ms, serverless "
            f"{slo['serverless_status']} this week; plan overflow {_share(slo['plan_overflow_share'])} {within} "
            f"the {_share(slo['max_overflow_share'])} allowed"
        )
    pool = result.get("pool")
    if pool is not None:
        lines.append(
            f"pool {pool['pool_id']}: {len(pool['members'])} endpoints, pooled {_usd(pool['pooled_cost_usd'])}, "
            f"separately (own best plans) {_usd(pool['separate_cost_usd'])}, saves "
            f"{_usd(pool['multiplexing_saving_usd'])}/week"
            + (f"; this week's pool step: {pool['week_pool_action']}" if pool["week_pool_action"] else "")
        )
        for member in pool["member_recommendations"]:
            lines.append(
                f"  {member['endpoint']}: recommended {member['recommended_plan']} "
                f"{_usd(member['recommended_cost_usd'])}, now {member['current_mode']} {_usd(member['current_cost_usd'])}"
            )
    rec = result["recommendation"]
    lines += [
        f"recommended this week:   {rec['recommended_plan']}, {_usd(rec['recommended_cost_usd'])}/week"
        + (f" ({rec['action']})" if rec["action"] else ""),
        f"current:                 {rec['current_mode'] or 'the members today'}, {_usd(rec['current_cost_usd'])}/week",
        f"what-if - recommended:   {_signed(result['difference_vs_recommended_usd'])}/week",
        f"what-if - current:       {_signed(result['difference_vs_current_usd'])}/week",
    ]
    return "\n".join(lines) + "\n"
